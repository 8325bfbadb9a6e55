using System.Runtime.InteropServices;

namespace PFStorer.Kernels.Cuda;

public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    public static implicit operator Dim3(int x) => new((uint)x);
}

/// <summary>A loaded kernel: its driver handle and the dynamic shared memory limit already granted to it.</summary>
public sealed class CudaFunction(nint handle, string name)
{
    public nint Handle { get; } = handle;
    public string Name { get; } = name;
    internal int SharedLimit { get; set; } = 48 * 1024;
}

/// <summary>
/// One GPU: its primary context, one non-blocking stream that every launch, copy and cuBLAS call is ordered on, a
/// cuBLAS handle bound to that stream, the device arena and the kernel families (compiled by NVRTC on first use for
/// this device's architecture, or read from the kernel cache).
/// </summary>
public sealed unsafe class CudaDevice : IDisposable, IDeviceMemorySource
{
    private readonly Dictionary<string, (nint Module, CompiledKernels Kernels)> _modules = new();
    private readonly Dictionary<(string, string), CudaFunction> _functions = new();
    private readonly KernelCompiler _compiler;
    private readonly Lock _lock = new();
    [ThreadStatic] private static nint _currentContext;
    private bool _disposed;

    public int Ordinal { get; }
    public string Name { get; }
    /// <summary>Compute capability as major·10 + minor (90 for H100/H200).</summary>
    public int Arch { get; }
    public int MultiprocessorCount { get; }
    public int MaxSharedPerBlockOptin { get; }
    public long TotalMemory { get; }
    public nint Context { get; }
    public nint Stream { get; }
    public nint CublasHandle { get; }
    public DeviceArena Arena { get; }

    private CudaDevice(int ordinal, KernelCompiler compiler)
    {
        _compiler = compiler;
        Ordinal = ordinal;
        Driver.Check(Driver.cuDeviceGet(out int dev, ordinal), "cuDeviceGet");
        var name = stackalloc byte[256];
        Driver.Check(Driver.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        Name = Marshal.PtrToStringUTF8((nint)name) ?? $"cuda:{ordinal}";
        Arch = Attribute(dev, Driver.AttrComputeCapabilityMajor) * 10 + Attribute(dev, Driver.AttrComputeCapabilityMinor);
        MultiprocessorCount = Attribute(dev, Driver.AttrMultiprocessorCount);
        MaxSharedPerBlockOptin = Attribute(dev, Driver.AttrMaxSharedMemoryPerBlockOptin);
        Driver.Check(Driver.cuDeviceTotalMem(out var total, dev), "cuDeviceTotalMem");
        TotalMemory = (long)total;
        Driver.Check(Driver.cuDevicePrimaryCtxRetain(out var ctx, dev), "cuDevicePrimaryCtxRetain");
        Context = ctx;
        MakeCurrent();
        Driver.Check(Driver.cuStreamCreate(out var stream, Driver.StreamNonBlocking), "cuStreamCreate");
        Stream = stream;
        Cublas.Check(Cublas.cublasCreate(out var handle), "cublasCreate");
        CublasHandle = handle;
        Cublas.Check(Cublas.cublasSetStream(handle, stream), "cublasSetStream");
        Arena = new DeviceArena(this);
    }

    private static int Attribute(int dev, int attribute)
    {
        Driver.Check(Driver.cuDeviceGetAttribute(out int v, attribute, dev), $"cuDeviceGetAttribute({attribute})");
        return v;
    }

    /// <summary>Opens GPU <paramref name="ordinal"/>, or returns false with the reason (no driver, no device, no NVRTC/cuBLAS, arch below sm_80).</summary>
    public static bool TryCreate(int ordinal, out CudaDevice? device, out string reason)
    {
        device = null;
        foreach (var lib in new[] { CudaLibrary.Driver, CudaLibrary.Nvrtc, CudaLibrary.Cublas })
            if (!CudaLibraries.TryLoad(lib, out _, out reason)) return false;
        try
        {
            int status = Driver.cuInit(0);
            if (status != 0) { reason = $"cuInit failed: {Driver.ErrorName(status)}"; return false; }
            Driver.Check(Driver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
            if (ordinal >= count) { reason = $"no CUDA device {ordinal} ({count} present)"; return false; }
            var d = new CudaDevice(ordinal, new KernelCompiler(KernelCompiler.DefaultCacheDirectory()));
            if (d.Arch < 80)
            {
                reason = $"{d.Name} is sm_{d.Arch}; the kernels need sm_80 or newer (bf16 tensor cores)";
                d.Dispose();
                return false;
            }
            device = d;
            reason = "";
            return true;
        }
        catch (CudaException e)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Binds the primary context to the calling thread (once per thread).</summary>
    public void MakeCurrent()
    {
        if (_currentContext == Context) return;
        Driver.Check(Driver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");
        _currentContext = Context;
    }

    /// <summary>The kernel for one of a family's name expressions, compiling and loading the family on first use.</summary>
    public CudaFunction Function(KernelFamily family, string nameExpression)
    {
        lock (_lock)
        {
            if (_functions.TryGetValue((family.Name, nameExpression), out var f)) return f;
            if (!_modules.TryGetValue(family.Name, out var module))
            {
                var compiled = _compiler.Compile(family, Arch);
                nint handle;
                fixed (byte* image = compiled.IsCubin ? compiled.Image : NulTerminated(compiled.Image))
                    Driver.Check(Driver.cuModuleLoadData(out handle, image), $"cuModuleLoadData({family}, {(compiled.IsCubin ? "sm" : "compute")}_{Arch})");
                module = (handle, compiled);
                _modules[family.Name] = module;
            }
            if (!module.Kernels.LoweredNames.TryGetValue(nameExpression, out var symbol))
                throw new ArgumentException($"{family} has no instantiation '{nameExpression}' in its launcher's name list");
            Driver.Check(Driver.cuModuleGetFunction(out var fn, module.Module, symbol), $"cuModuleGetFunction({nameExpression})");
            f = new CudaFunction(fn, nameExpression);
            _functions[(family.Name, nameExpression)] = f;
            return f;
        }
    }

    private static byte[] NulTerminated(byte[] ptx) => ptx.Length > 0 && ptx[^1] == 0 ? ptx : [.. ptx, 0];

    /// <summary>Launches on the device stream. Raises the function's dynamic shared memory limit when a launch needs more than 48 KB.</summary>
    public void Launch(CudaFunction f, Dim3 grid, Dim3 block, int sharedBytes, params ReadOnlySpan<KernelArg> args)
    {
        MakeCurrent();
        if (sharedBytes > f.SharedLimit)
        {
            if (sharedBytes > MaxSharedPerBlockOptin)
                throw new ArgumentException($"{f.Name} needs {sharedBytes} bytes of shared memory; {Name} allows {MaxSharedPerBlockOptin}");
            Driver.Check(Driver.cuFuncSetAttribute(f.Handle, Driver.FuncAttrMaxDynamicSharedSizeBytes, sharedBytes), $"cuFuncSetAttribute({f.Name})");
            f.SharedLimit = sharedBytes;
        }
        var values = stackalloc ulong[args.Length];
        var pointers = stackalloc void*[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].Struct != null) pointers[i] = args[i].Struct;
            else
            {
                values[i] = args[i].Bits;
                pointers[i] = &values[i];
            }
        }
        Driver.Check(Driver.cuLaunchKernel(f.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)sharedBytes, Stream, pointers, null),
            $"cuLaunchKernel({f.Name}, grid {grid.X}x{grid.Y}x{grid.Z}, block {block.X}x{block.Y}x{block.Z}, smem {sharedBytes})");
    }

    /// <summary>Grid size for a grid-stride elementwise kernel over n items: enough blocks to fill every SM several times, never more than needed.</summary>
    public int GridFor(long n, int blockSize = 256) =>
        (int)Math.Max(1, Math.Min((n + blockSize - 1) / blockSize, (long)MultiprocessorCount * 32));

    public void Synchronize()
    {
        MakeCurrent();
        Driver.Check(Driver.cuStreamSynchronize(Stream), "cuStreamSynchronize");
    }

    /// <summary>Records everything <paramref name="body"/> issues on the stream into a CUDA graph (tensors it touches must outlive the graph).</summary>
    public CudaGraph Capture(Action body)
    {
        MakeCurrent();
        Driver.Check(Driver.cuStreamBeginCapture(Stream, Driver.StreamCaptureModeThreadLocal), "cuStreamBeginCapture");
        nint graph;
        try
        {
            body();
        }
        finally
        {
            Driver.Check(Driver.cuStreamEndCapture(Stream, out graph), "cuStreamEndCapture");
        }
        try
        {
            Driver.Check(Driver.cuGraphInstantiateWithFlags(out var exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new CudaGraph(this, graph, exec);
        }
        catch
        {
            Driver.cuGraphDestroy(graph);
            throw;
        }
    }

    /// <summary>Device time of <paramref name="body"/> in milliseconds, measured with events on the stream.</summary>
    public float Time(Action body)
    {
        MakeCurrent();
        Driver.Check(Driver.cuEventCreate(out var start, 0), "cuEventCreate");
        Driver.Check(Driver.cuEventCreate(out var end, 0), "cuEventCreate");
        try
        {
            Driver.Check(Driver.cuEventRecord(start, Stream), "cuEventRecord");
            body();
            Driver.Check(Driver.cuEventRecord(end, Stream), "cuEventRecord");
            Driver.Check(Driver.cuEventSynchronize(end), "cuEventSynchronize");
            Driver.Check(Driver.cuEventElapsedTime(out var ms, start, end), "cuEventElapsedTime");
            return ms;
        }
        finally
        {
            Driver.cuEventDestroy(start);
            Driver.cuEventDestroy(end);
        }
    }

    /// <summary>Versions, for logs and benchmark headers.</summary>
    public string Describe()
    {
        Driver.Check(Driver.cuDriverGetVersion(out int drv), "cuDriverGetVersion");
        return $"{Name} (sm_{Arch}, {MultiprocessorCount} SMs, {TotalMemory >> 30} GiB), driver CUDA {drv / 1000}.{drv % 1000 / 10}, NVRTC {Nvrtc.Version()}";
    }

    nint IDeviceMemorySource.Allocate(long bytes)
    {
        MakeCurrent();
        Driver.Check(Driver.cuMemAlloc(out var p, (nuint)bytes), $"cuMemAlloc({bytes} bytes)");
        return p;
    }

    void IDeviceMemorySource.Free(nint pointer)
    {
        MakeCurrent();
        Driver.Check(Driver.cuMemFree(pointer), "cuMemFree");
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        MakeCurrent();
        Driver.cuStreamSynchronize(Stream);
        Arena.Dispose();
        foreach (var (module, _) in _modules.Values) Driver.cuModuleUnload(module);
        Cublas.cublasDestroy(CublasHandle);
        Driver.cuStreamDestroy(Stream);
        Driver.Check(Driver.cuDeviceGet(out int dev, Ordinal), "cuDeviceGet");
        Driver.cuDevicePrimaryCtxRelease(dev);
    }
}

/// <summary>An instantiated CUDA graph: replays the captured launches with one call.</summary>
public sealed class CudaGraph(CudaDevice device, nint graph, nint exec) : IDisposable
{
    public void Launch()
    {
        device.MakeCurrent();
        Driver.Check(Driver.cuGraphLaunch(exec, device.Stream), "cuGraphLaunch");
    }

    public void Dispose()
    {
        Driver.cuGraphExecDestroy(exec);
        Driver.cuGraphDestroy(graph);
    }
}
