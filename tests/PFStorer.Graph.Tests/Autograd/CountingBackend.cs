using System.Reflection;
using System.Reflection.Emit;
using PFStorer.Graph.Backends;
using PFStorer.Kernels.Memory;

namespace PFStorer.Graph.Tests.Autograd;

/// <summary>
/// A recording decorator over the CPU backend, registered for its own device (cpu:N, N ≥ 1) with its own memory pool,
/// so a test sees every backend call (name and arguments) and exact pool counters without interference from tests
/// running in parallel on cpu:0. The forwarding type is emitted from IBackend's abstract methods, so the decorator needs
/// no change when the interface grows (DispatchProxy cannot be used: it boxes arguments, and spans cannot be boxed).
/// </summary>
public abstract class CountingBackend
{
    private static int _nextIndex;
    private static readonly Lazy<Type> ProxyType = new(EmitProxyType);

    public record Call(string Name, object?[] Args, long BytesInUseBefore);

    private readonly List<Call> _calls = [];
    private readonly Lock _gate = new();

    protected CountingBackend(IBackend inner)
    {
        Inner = inner;
        Device = new Device(DeviceKind.Cpu, Interlocked.Increment(ref _nextIndex));
    }

    protected IBackend Inner { get; }
    public virtual Device Device { get; }
    public virtual IMemoryPool Pool => CountingPool;
    public HostMemoryPool CountingPool { get; } = new();

    public IReadOnlyList<Call> Calls { get { lock (_gate) return [.. _calls]; } }

    public void ClearCalls() { lock (_gate) _calls.Clear(); }

    /// <summary>Called by the emitted forwarders before each call; span arguments arrive as null.</summary>
    protected void Record(string name, object?[] args)
    {
        lock (_gate) _calls.Add(new Call(name, args, CountingPool.Counters.BytesInUse));
    }

    /// <summary>Creates a decorator over the CPU backend on a fresh device index and registers it with <see cref="Backend"/>.</summary>
    public static CountingBackend Create()
    {
        var proxy = (CountingBackend)Activator.CreateInstance(ProxyType.Value, [CpuBackend.Instance])!;
        Backend.Register((IBackend)proxy);
        return proxy;
    }

    // class CountingBackendProxy : CountingBackend, IBackend { each abstract M(args) { Record("M", [args]); return Inner.M(args); } }
    private static Type EmitProxyType()
    {
        var module = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("CountingBackendProxy"), AssemblyBuilderAccess.Run)
            .DefineDynamicModule("CountingBackendProxy");
        var type = module.DefineType("CountingBackendProxy", TypeAttributes.Public | TypeAttributes.Sealed, typeof(CountingBackend), [typeof(IBackend)]);
        var baseCtor = typeof(CountingBackend).GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic, [typeof(IBackend)])!;
        var ctor = type.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, [typeof(IBackend)]);
        var il = ctor.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, baseCtor);
        il.Emit(OpCodes.Ret);

        var inner = typeof(CountingBackend).GetProperty(nameof(Inner), BindingFlags.Instance | BindingFlags.NonPublic)!.GetMethod!;
        var record = typeof(CountingBackend).GetMethod(nameof(Record), BindingFlags.Instance | BindingFlags.NonPublic)!;
        foreach (var m in typeof(IBackend).GetMethods())
        {
            if (!m.IsAbstract || m.Name is "get_Device" or "get_Pool") continue; // defaults stay; the base supplies device and pool
            var ps = m.GetParameters();
            var method = type.DefineMethod(m.Name, MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.Final | MethodAttributes.HideBySig | MethodAttributes.NewSlot,
                m.ReturnType, ps.Select(p => p.ParameterType).ToArray());
            il = method.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldstr, m.Name);
            il.Emit(OpCodes.Ldc_I4, ps.Length);
            il.Emit(OpCodes.Newarr, typeof(object));
            for (int i = 0; i < ps.Length; i++)
            {
                var t = ps[i].ParameterType;
                if (t.IsByRefLike || t.IsByRef) continue; // spans (host copies) are not recorded
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Ldarg, i + 1);
                if (t.IsValueType) il.Emit(OpCodes.Box, t);
                il.Emit(OpCodes.Stelem_Ref);
            }
            il.Emit(OpCodes.Call, record);
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Call, inner);
            for (int i = 0; i < ps.Length; i++) il.Emit(OpCodes.Ldarg, i + 1);
            il.Emit(OpCodes.Callvirt, m);
            il.Emit(OpCodes.Ret);
            type.DefineMethodOverride(method, m);
        }
        return type.CreateType();
    }
}
