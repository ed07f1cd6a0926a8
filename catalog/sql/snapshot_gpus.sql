SELECT gpu, name, vendor, architecture, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops, int8_tops,
       interconnect_gbps, nodes_of
FROM gpu_specs ORDER BY gpu
