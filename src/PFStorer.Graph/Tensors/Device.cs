namespace PFStorer.Graph;

public enum DeviceKind : byte { Cpu, Cuda }

public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    public static Device Cpu => new(DeviceKind.Cpu);
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);
    public override string ToString() => Kind == DeviceKind.Cpu ? (Index == 0 ? "cpu" : $"cpu:{Index}") : $"cuda:{Index}";
}
