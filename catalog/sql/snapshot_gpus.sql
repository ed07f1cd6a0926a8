SELECT gpu, name, vendor, architecture, memory_gib, mem_bw_gbps, bf16_tflops, fp8_tflops, int8_tops,
       fp4_tflops, interconnect_gbps, nodes_of, source,
       coalesce(string_split(missing_fields, ';'), []) AS missing_fields,
       coalesce(string_split(estimated_fields, ';'), []) AS estimated_fields
FROM gpu_specs ORDER BY gpu
