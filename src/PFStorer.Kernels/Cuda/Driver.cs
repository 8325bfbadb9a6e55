using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cuda;

/// <summary>CUDA driver API bindings (cuda.h, the _v2 entry points the headers map to). Use <see cref="Check"/> on every status.</summary>
public static unsafe partial class Driver
{
    static Driver() => CudaLibraries.EnsureResolver();

    // Device attributes (CUdevice_attribute) the engine reads.
    public const int AttrMaxThreadsPerBlock = 1;
    public const int AttrMaxSharedMemoryPerBlock = 8;
    public const int AttrMultiprocessorCount = 16;
    public const int AttrComputeCapabilityMajor = 75;
    public const int AttrComputeCapabilityMinor = 76;
    public const int AttrL2CacheSize = 38;
    public const int AttrMaxSharedMemoryPerBlockOptin = 97;
    public const int AttrMemoryPoolsSupported = 115;
    // CUfunction_attribute
    public const int FuncAttrMaxDynamicSharedSizeBytes = 8;
    // CUstreamCaptureMode
    public const int StreamCaptureModeThreadLocal = 1;
    public const uint StreamNonBlocking = 1;

    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuInit(uint flags);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDriverGetVersion(out int version);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGetCount(out int count);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGetName(byte* name, int len, int device);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuDeviceTotalMem_v2")] public static partial int cuDeviceTotalMem(out nuint bytes, int device);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuDevicePrimaryCtxRetain(out nint context, int device);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuCtxSetCurrent(nint context);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuCtxSynchronize();
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGetErrorName(int result, out nint name);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGetErrorString(int result, out nint text);

    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemAlloc_v2")] public static partial int cuMemAlloc(out nint ptr, nuint bytes);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemFree_v2")] public static partial int cuMemFree(nint ptr);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuMemAllocAsync(out nint ptr, nuint bytes, nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuMemFreeAsync(nint ptr, nint stream);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemGetInfo_v2")] public static partial int cuMemGetInfo(out nuint free, out nuint total);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyHtoD_v2")] public static partial int cuMemcpyHtoD(nint dst, void* src, nuint bytes);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyDtoH_v2")] public static partial int cuMemcpyDtoH(void* dst, nint src, nuint bytes);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyDtoD_v2")] public static partial int cuMemcpyDtoD(nint dst, nint src, nuint bytes);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyHtoDAsync_v2")] public static partial int cuMemcpyHtoDAsync(nint dst, void* src, nuint bytes, nint stream);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyDtoHAsync_v2")] public static partial int cuMemcpyDtoHAsync(void* dst, nint src, nuint bytes, nint stream);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemcpyDtoDAsync_v2")] public static partial int cuMemcpyDtoDAsync(nint dst, nint src, nuint bytes, nint stream);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuMemsetD8_v2")] public static partial int cuMemsetD8(nint dst, byte value, nuint count);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuMemsetD8Async(nint dst, byte value, nuint count, nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuMemsetD16Async(nint dst, ushort value, nuint count, nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuMemsetD32Async(nint dst, uint value, nuint count, nint stream);

    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuModuleLoadData(out nint module, void* image);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuModuleUnload(nint module);
    [LibraryImport(CudaLibraries.DriverName, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int cuModuleGetFunction(out nint function, nint module, string name);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuFuncSetAttribute(nint function, int attribute, int value);
    [LibraryImport(CudaLibraries.DriverName)]
    public static partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, nint stream, void** kernelParams, void** extra);

    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuStreamCreate(out nint stream, uint flags);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuStreamDestroy_v2")] public static partial int cuStreamDestroy(nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuStreamSynchronize(nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuEventCreate(out nint evt, uint flags);
    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuEventDestroy_v2")] public static partial int cuEventDestroy(nint evt);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuEventRecord(nint evt, nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuEventSynchronize(nint evt);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(CudaLibraries.DriverName, EntryPoint = "cuStreamBeginCapture_v2")] public static partial int cuStreamBeginCapture(nint stream, int mode);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuStreamEndCapture(nint stream, out nint graph);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGraphInstantiateWithFlags(out nint exec, nint graph, ulong flags);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGraphLaunch(nint exec, nint stream);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGraphExecDestroy(nint exec);
    [LibraryImport(CudaLibraries.DriverName)] public static partial int cuGraphDestroy(nint graph);

    /// <summary>Throws <see cref="CudaException"/> named by the driver (or by the header's table when the driver cannot say).</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException("CUDA driver", call, status, ErrorName(status), ErrorDescription(status));
    }

    public static string ErrorName(int status)
    {
        try
        {
            if (cuGetErrorName(status, out var p) == 0 && p != 0) return Marshal.PtrToStringUTF8(p)!;
        }
        catch (DllNotFoundException)
        {
            // No driver: fall back to the header's names.
        }
        return CudaErrorNames.Driver(status);
    }

    private static string? ErrorDescription(int status)
    {
        try
        {
            return cuGetErrorString(status, out var p) == 0 && p != 0 ? Marshal.PtrToStringUTF8(p) : null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }
}
