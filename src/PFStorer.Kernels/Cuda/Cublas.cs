using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cuda;

/// <summary>cuBLAS bindings (cublas_api.h, v2 API): handle, stream, math mode and the two GEMMs the engine uses.</summary>
public static partial class Cublas
{
    static Cublas() => CudaLibraries.EnsureResolver();

    public const int OpN = 0, OpT = 1;
    // cudaDataType
    public const int R32F = 0, R16F = 2, R16BF = 14;
    // cublasComputeType_t
    public const int Compute32F = 68, Compute32FPedantic = 69, Compute32FFastTf32 = 77;
    // cublasMath_t
    public const int DefaultMath = 0, PedanticMath = 2;
    public const int GemmDefault = -1;

    [LibraryImport(CudaLibraries.CublasName, EntryPoint = "cublasCreate_v2")] public static partial int cublasCreate(out nint handle);
    [LibraryImport(CudaLibraries.CublasName, EntryPoint = "cublasDestroy_v2")] public static partial int cublasDestroy(nint handle);
    [LibraryImport(CudaLibraries.CublasName, EntryPoint = "cublasSetStream_v2")] public static partial int cublasSetStream(nint handle, nint stream);
    [LibraryImport(CudaLibraries.CublasName)] public static partial int cublasSetMathMode(nint handle, int mode);
    [LibraryImport(CudaLibraries.CublasName, EntryPoint = "cublasGetVersion_v2")] public static partial int cublasGetVersion(nint handle, out int version);
    [LibraryImport(CudaLibraries.CublasName)]
    public static partial int cublasGemmEx(nint handle, int transa, int transb, int m, int n, int k, in float alpha,
        nint a, int aType, int lda, nint b, int bType, int ldb, in float beta, nint c, int cType, int ldc, int computeType, int algo);
    [LibraryImport(CudaLibraries.CublasName)]
    public static partial int cublasGemmStridedBatchedEx(nint handle, int transa, int transb, int m, int n, int k, in float alpha,
        nint a, int aType, int lda, long strideA, nint b, int bType, int ldb, long strideB, in float beta,
        nint c, int cType, int ldc, long strideC, int batchCount, int computeType, int algo);

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("cuBLAS", call, status, CudaErrorNames.Cublas(status));
    }
}
