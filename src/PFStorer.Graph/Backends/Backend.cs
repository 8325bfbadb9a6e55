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

    public static void Register(IBackend backend)
    {
        lock (Gate) Registered[backend.Device] = backend;
    }
}
