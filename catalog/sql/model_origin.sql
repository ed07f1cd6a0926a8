SELECT origin FROM model_specs WHERE model = ?
