SELECT count(*) FROM accuracy
WHERE source LIKE 'lm-eval:%' AND model = $model AND format = $format AND suite = $suite
