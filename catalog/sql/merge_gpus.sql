-- A catalog's GPU definitions (the specification, not the prices), from the public view.
SELECT gpu, name, vendor, architecture, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops,
       int8_tops, fp4_tflops, interconnect, interconnect_gbps, nodes_of
FROM gpus
ORDER BY gpu
