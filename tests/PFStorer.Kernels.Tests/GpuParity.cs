using PFStorer.Graph;
using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>The CUDA backend for GPU tests, or a skip with the reason no GPU could be opened.</summary>
internal static class Gpu
{
    private static readonly Lazy<(CudaBackend? Backend, string Reason)> Opened = new(() =>
    {
        var backend = CudaBackend.TryCreate(out var reason);
        return (backend, reason);
    });

    public static CudaBackend Require()
    {
        var (backend, reason) = Opened.Value;
        if (backend == null) Assert.Skip($"no CUDA device: {reason}");
        return backend!;
    }
}

/// <summary>How an argument follows the precision mode: Data takes the mode's dtype (F32 or BF16), F32 stays f32
/// (statistics, masks, moments), Exact keeps its dtype and is compared exactly (ids, argmax indices).</summary>
public enum ArgKind { Data, F32, Exact }

public sealed record OutputSpec(int[] Shape, ArgKind Kind = ArgKind.Data, DType ExactType = DType.I32);

/// <summary>
/// One op checked CUDA against CPU: fresh random inputs (CPU, f32), output shapes, and the call (the same delegate runs
/// on both backends). <see cref="CompareInputs"/> lists inputs updated in place (AdamW) that are compared too.
/// </summary>
public sealed record ParityCase(string Name, Func<Random, (Tensor Tensor, ArgKind Kind)[]> Inputs, OutputSpec[] Outputs,
    Action<IBackend, Tensor[], Tensor[]> Run, int[]? CompareInputs = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// Runs a <see cref="ParityCase"/>: the CPU backend on the inputs (rounded to bf16 first in bf16 mode, so both sides
/// see the same values), the CUDA backend on device copies with every output poisoned with NaN (−1 for integers)
/// before the launch, then the normalised error ‖gpu − cpu‖/‖cpu‖ of every output (NaN gives +∞, so never passes).
/// </summary>
internal static class ParityRunner
{
    public const double F32Tolerance = 1e-5, Bf16Tolerance = 1e-2;

    public static void Run(ParityCase c, DType mode, ITestOutputHelper output)
    {
        var gpu = Gpu.Require();
        var rng = Reference.NewRandom(out int seed);
        var made = c.Inputs(rng);
        var disposables = new List<Tensor>();
        try
        {
            var cpuIn = made.Select(a => Track(disposables, a.Kind == ArgKind.Data && mode == DType.BF16 ? RoundToBf16(a.Tensor) : a.Tensor.Share())).ToArray();
            foreach (var a in made) a.Tensor.Dispose();
            var cpuOut = c.Outputs.Select(o => Track(disposables, Tensor.Zeros(o.Shape, o.Kind == ArgKind.Exact ? o.ExactType : DType.F32))).ToArray();
            c.Run(CpuBackend.Instance, cpuIn, cpuOut);

            var gpuIn = cpuIn.Select((t, i) => Track(disposables, t.Contiguous(made[i].Kind == ArgKind.Data ? mode : t.DType, gpu.Device))).ToArray();
            var gpuOut = c.Outputs.Select(o =>
            {
                var dtype = o.Kind switch { ArgKind.Data => mode, ArgKind.F32 => DType.F32, _ => o.ExactType };
                var t = Track(disposables, Tensor.Empty(o.Shape, dtype, gpu.Device));
                gpu.Fill(t, dtype.IsFloat() ? double.NaN : -1);
                return t;
            }).ToArray();
            float ms = gpu.Gpu.Time(() => c.Run(gpu, gpuIn, gpuOut));

            var pairs = c.Outputs.Select((o, i) => (Name: $"output {i}", Kind: o.Kind, Cpu: cpuOut[i], Gpu: gpuOut[i]))
                .Concat((c.CompareInputs ?? []).Select(i => (Name: $"input {i} (in place)", Kind: made[i].Kind, Cpu: cpuIn[i], Gpu: gpuIn[i])));
            double tolerance = mode == DType.F32 ? F32Tolerance : Bf16Tolerance, worst = 0;
            var failures = new List<string>();
            foreach (var (name, kind, cpu, dev) in pairs)
            {
                if (kind == ArgKind.Exact)
                {
                    var expected = cpu.ToInt64Array();
                    var actual = dev.ToInt64Array();
                    if (!expected.SequenceEqual(actual)) failures.Add($"{name}: integer outputs differ");
                    continue;
                }
                double err = Reference.NormalisedError(dev.ToFloatArray(), Reference.ToDouble(cpu.ToFloatArray()));
                worst = Math.Max(worst, err);
                if (!(err <= tolerance)) failures.Add($"{name}: normalised error {err:E3} > {tolerance:E0}");
            }
            output.WriteLine($"| {c.Name} | {mode} | {worst:E2} | {ms:F3} ms |");
            Assert.True(failures.Count == 0, $"{c.Name} in {mode} (seed {seed}): {string.Join("; ", failures)}");
        }
        finally
        {
            foreach (var t in disposables) t.Dispose();
        }
    }

    private static Tensor Track(List<Tensor> list, Tensor t)
    {
        list.Add(t);
        return t;
    }

    private static Tensor RoundToBf16(Tensor t)
    {
        using var b = t.Contiguous(DType.BF16, Device.Cpu);
        return b.Contiguous(DType.F32, Device.Cpu);
    }
}
