// Quantized dot products and matrix kernels; see the files of this module.
