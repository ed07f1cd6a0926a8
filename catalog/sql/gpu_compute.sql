SELECT gpu, fp8_tflops IS NOT NULL, int8_tops IS NOT NULL FROM gpu_specs
