namespace PFStorer.Graph.Backends;

/// <summary>Finds the backend that owns a device. The CPU backend always exists; the CUDA backend registers itself when initialised.</summary>
public static class Backend
{
    private static readonly Dictionary<Device, IBackend> Registered = new() { [Device.Cpu] = CpuBackend.Instance };
    private static readonly Lock Gate = new();

    public static IBackend For(Device device)
    {
        lock (Gate)
        {
            if (Registered.TryGetValue(device, out var b)) return b;
        }
        throw new InvalidOperationException($"no backend is initialised for device {device}");
    }

    /// <summary>Every registered backend, the CPU one first (the parity suite compares each other one with it).</summary>
    public static IReadOnlyList<IBackend> All()
    {
        lock (Gate) return [.. Registered.Values.OrderBy(b => b.Device == Device.Cpu ? 0 : 1).ThenBy(b => b.Device.ToString(), StringComparer.Ordinal)];
    }

    public static void Register(IBackend backend)
    {
        lock (Gate) Registered[backend.Device] = backend;
    }
}
