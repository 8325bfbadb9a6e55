namespace PFStorer.Kernels.Cuda;

/// <summary>
/// A failed CUDA driver, NVRTC or cuBLAS call. <see cref="ErrorName"/> is the API's own name for the status
/// (e.g. CUDA_ERROR_OUT_OF_MEMORY, NVRTC_ERROR_COMPILATION, CUBLAS_STATUS_NOT_SUPPORTED); <see cref="Log"/> carries
/// the NVRTC compile log when there is one.
/// </summary>
public sealed class CudaException : Exception
{
    public string Api { get; }
    public string ErrorName { get; }
    public int Code { get; }
    public string? Log { get; }

    public CudaException(string api, string call, int code, string errorName, string? detail = null, string? log = null)
        : base(Format(api, call, code, errorName, detail, log))
    {
        Api = api;
        ErrorName = errorName;
        Code = code;
        Log = log;
    }

    private static string Format(string api, string call, int code, string name, string? detail, string? log)
    {
        var msg = $"{api} {call} failed: {name} ({code})";
        if (!string.IsNullOrEmpty(detail)) msg += $": {detail}";
        if (!string.IsNullOrWhiteSpace(log)) msg += $"{Environment.NewLine}compile log:{Environment.NewLine}{log.TrimEnd()}";
        return msg;
    }
}

/// <summary>Maps status codes to the names the CUDA headers give them, for messages that can be searched for.</summary>
public static class CudaErrorNames
{
    public static string Driver(int code) =>
        Enum.IsDefined(typeof(CuResult), code) ? ((CuResult)code).ToString() : $"CUDA_ERROR_UNKNOWN_CODE_{code}";

    public static string Nvrtc(int code) =>
        Enum.IsDefined(typeof(NvrtcResult), code) ? ((NvrtcResult)code).ToString() : $"NVRTC_ERROR_UNKNOWN_CODE_{code}";

    public static string Cublas(int code) =>
        Enum.IsDefined(typeof(CublasStatus), code) ? ((CublasStatus)code).ToString() : $"CUBLAS_STATUS_UNKNOWN_CODE_{code}";
}

#pragma warning disable CA1707 // names are the header's, so that messages match the CUDA documentation
/// <summary>CUresult values (cuda.h) that the engine can meet.</summary>
public enum CuResult
{
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_DEINITIALIZED = 4,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_DEVICE_NOT_LICENSED = 102,
    CUDA_ERROR_INVALID_IMAGE = 200,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_MAP_FAILED = 205,
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    CUDA_ERROR_INVALID_PTX = 218,
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    CUDA_ERROR_INVALID_SOURCE = 300,
    CUDA_ERROR_FILE_NOT_FOUND = 301,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_FOUND = 500,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED = 704,
    CUDA_ERROR_HARDWARE_STACK_ERROR = 714,
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    CUDA_ERROR_MISALIGNED_ADDRESS = 716,
    CUDA_ERROR_INVALID_ADDRESS_SPACE = 717,
    CUDA_ERROR_INVALID_PC = 718,
    CUDA_ERROR_LAUNCH_FAILED = 719,
    CUDA_ERROR_NOT_PERMITTED = 800,
    CUDA_ERROR_NOT_SUPPORTED = 801,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
    CUDA_ERROR_STREAM_CAPTURE_UNMATCHED = 903,
    CUDA_ERROR_STREAM_CAPTURE_UNJOINED = 904,
    CUDA_ERROR_STREAM_CAPTURE_ISOLATION = 905,
    CUDA_ERROR_CAPTURED_EVENT = 907,
    CUDA_ERROR_UNKNOWN = 999,
}

/// <summary>nvrtcResult (nvrtc.h).</summary>
public enum NvrtcResult
{
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
    NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8,
    NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10,
    NVRTC_ERROR_INTERNAL_ERROR = 11,
    NVRTC_ERROR_TIME_FILE_WRITE_FAILED = 12,
}

/// <summary>cublasStatus_t (cublas_api.h).</summary>
public enum CublasStatus
{
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
}
#pragma warning restore CA1707
