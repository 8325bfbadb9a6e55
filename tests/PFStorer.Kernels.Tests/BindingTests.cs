using PFStorer.Kernels.Cuda;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>Bindings logic that needs no GPU: status names, exceptions, the struct mirrored by the kernels.</summary>
public sealed class BindingTests
{
    [Theory]
    [InlineData(2, "CUDA_ERROR_OUT_OF_MEMORY")]
    [InlineData(700, "CUDA_ERROR_ILLEGAL_ADDRESS")]
    [InlineData(209, "CUDA_ERROR_NO_BINARY_FOR_GPU")]
    [InlineData(12345, "CUDA_ERROR_UNKNOWN_CODE_12345")]
    public void Driver_status_names_follow_cuda_h(int code, string name) => Assert.Equal(name, CudaErrorNames.Driver(code));

    [Theory]
    [InlineData(6, "NVRTC_ERROR_COMPILATION")]
    [InlineData(10, "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID")]
    [InlineData(99, "NVRTC_ERROR_UNKNOWN_CODE_99")]
    public void Nvrtc_status_names_follow_nvrtc_h(int code, string name) => Assert.Equal(name, CudaErrorNames.Nvrtc(code));

    [Theory]
    [InlineData(15, "CUBLAS_STATUS_NOT_SUPPORTED")]
    [InlineData(13, "CUBLAS_STATUS_EXECUTION_FAILED")]
    [InlineData(42, "CUBLAS_STATUS_UNKNOWN_CODE_42")]
    public void Cublas_status_names_follow_cublas_api_h(int code, string name) => Assert.Equal(name, CudaErrorNames.Cublas(code));

    [Fact]
    public void Driver_error_name_works_with_or_without_a_driver()
    {
        // With libcuda the driver answers; without it the header table does. Both say the same.
        Assert.Equal("CUDA_ERROR_INVALID_VALUE", Driver.ErrorName(1));
    }

    [Fact]
    public void Nvrtc_table_agrees_with_the_library()
    {
        if (!Nvrtc.IsAvailable(out var reason)) Assert.Skip($"libnvrtc is not installed: {reason}");
        foreach (var code in Enum.GetValues<NvrtcResult>().Where(c => c <= NvrtcResult.NVRTC_ERROR_INTERNAL_ERROR))
            Assert.Equal(code.ToString(), Nvrtc.ErrorString((int)code));
    }

    [Fact]
    public void Compile_error_carries_the_api_name_and_the_log()
    {
        if (!Nvrtc.IsAvailable(out var reason)) Assert.Skip($"libnvrtc is not installed: {reason}");
        var e = Assert.Throws<CudaException>(() => Nvrtc.Compile("broken.cu", "__global__ void k() { undefined_symbol = 1; }",
            new Dictionary<string, string>(), KernelCompiler.Options(80, cubin: false), [], cubin: false));
        Assert.Equal("NVRTC_ERROR_COMPILATION", e.ErrorName);
        Assert.Contains("undefined_symbol", e.Log);
        Assert.Contains("broken.cu", e.Message);
        Assert.Contains("undefined_symbol", e.Message);
    }

    [Fact]
    public void Exception_message_names_api_call_and_status()
    {
        var e = new CudaException("cuBLAS", "cublasGemmEx", 15, CudaErrorNames.Cublas(15));
        Assert.Equal("cuBLAS cublasGemmEx failed: CUBLAS_STATUS_NOT_SUPPORTED (15)", e.Message);
    }

    [Fact]
    public unsafe void Strided_layout_matches_the_kernels_struct()
    {
        // common.cuh: int rank; int pad; i64 size[8]; i64 stride[8];
        Assert.Equal(8 + 2 * 8 * StridedLayout.MaxRank, sizeof(StridedLayout));
        var l = StridedLayout.Create([2, 3], [3, 1]);
        Assert.Equal(2, l.Rank);
        Assert.Equal(3, l.Size[1]);
        Assert.Equal(3, l.Stride[0]);
        var scalar = StridedLayout.Create([], []);
        Assert.Equal(1, scalar.Rank);
        Assert.Equal(1, scalar.Size[0]);
        Assert.Throws<ArgumentException>(() => StridedLayout.Create(new int[9], new long[9]));
    }
}
