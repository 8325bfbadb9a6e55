using System.Reflection;
using PFStorer.Graph.Backends;
using PFStorer.Kernels.Memory;

namespace PFStorer.Graph.Tests.Autograd;

/// <summary>
/// A recording decorator over the CPU backend, registered for its own device (cpu:N, N ≥ 1) with its own memory pool,
/// so a test can see every backend call (name and arguments) and exact pool counters without interference from tests
/// running in parallel on cpu:0. Built with <see cref="DispatchProxy"/> so it needs no change when IBackend grows.
/// </summary>
public class CountingBackend : DispatchProxy
{
    private static int _nextIndex;

    public record Call(string Name, object?[] Args, long BytesInUseBefore);

    private readonly List<Call> _calls = [];
    private readonly Lock _gate = new();

    public Device Device { get; private set; }
    public HostMemoryPool Pool { get; } = new();

    public IReadOnlyList<Call> Calls { get { lock (_gate) return [.. _calls]; } }

    public void ClearCalls() { lock (_gate) _calls.Clear(); }

    /// <summary>Creates a decorator on a fresh device index and registers it with <see cref="Backend"/>.</summary>
    public static CountingBackend Create()
    {
        var proxy = DispatchProxy.Create<IBackend, CountingBackend>();
        var self = (CountingBackend)(object)proxy;
        self.Device = new Device(DeviceKind.Cpu, Interlocked.Increment(ref _nextIndex));
        Backend.Register(proxy);
        return self;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case "get_Device": return Device;
            case "get_Pool": return Pool;
        }
        lock (_gate) _calls.Add(new Call(targetMethod.Name, args ?? [], Pool.Counters.BytesInUse));
        try
        {
            return targetMethod.Invoke(CpuBackend.Instance, args);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            throw e.InnerException;
        }
    }
}
