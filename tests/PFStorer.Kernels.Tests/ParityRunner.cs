using PFStorer.Graph;
using PFStorer.Graph.Backends;

namespace PFStorer.Kernels.Tests;

/// <summary>How an argument follows the precision mode: Data takes the mode's dtype (F32 or BF16), F32 stays f32
/// (statistics, masks, moments), Exact keeps its dtype and is compared exactly (ids, argmax indices).</summary>
public enum ArgKind { Data, F32, Exact }

public sealed record OutputSpec(int[] Shape, ArgKind Kind = ArgKind.Data, DType ExactType = DType.I32);

/// <summary>
/// One op checked candidate against reference: fresh random inputs (CPU, f32), output shapes, and the call (the same
/// delegate runs on both backends). <see cref="CompareInputs"/> lists inputs updated in place (AdamW) that are compared too.
/// </summary>
public sealed record ParityCase(string Name, Func<Random, (Tensor Tensor, ArgKind Kind)[]> Inputs, OutputSpec[] Outputs,
    Action<IBackend, Tensor[], Tensor[]> Run, int[]? CompareInputs = null)
{
    public override string ToString() => Name;
}

/// <summary>The outcome of one comparison: the worst normalised error over the float outputs and every output that failed.</summary>
public sealed record ParityResult(double WorstError, IReadOnlyList<string> Failures);

/// <summary>
/// Runs a <see cref="ParityCase"/> on two backends, as ggml's test-backend-ops does: the reference in f32 on the inputs
/// (rounded to bf16 first in bf16 mode, so both sides see the same values), the candidate on copies in the mode's
/// storage type with every output poisoned with NaN (−1 for integers) before the call, then the normalised error
/// ‖candidate − reference‖/‖reference‖ of every output (NaN gives +∞, so an output left unwritten never passes).
/// </summary>
internal static class ParityRunner
{
    public const double F32Tolerance = 1e-5, Bf16Tolerance = 1e-2;

    public static double Tolerance(DType mode) => mode == DType.F32 ? F32Tolerance : Bf16Tolerance;

    public static ParityResult Compare(ParityCase c, DType mode, IBackend reference, IBackend candidate, Random rng)
    {
        var made = c.Inputs(rng);
        var disposables = new List<Tensor>();
        try
        {
            var refIn = made.Select(a => Track(disposables, ReferenceInput(a.Tensor, a.Kind, mode, reference.Device))).ToArray();
            foreach (var a in made) a.Tensor.Dispose();
            var refOut = c.Outputs.Select(o => Track(disposables, Tensor.Zeros(o.Shape, o.Kind == ArgKind.Exact ? o.ExactType : DType.F32, reference.Device))).ToArray();
            c.Run(reference, refIn, refOut);

            var candIn = refIn.Select((t, i) => Track(disposables, t.Contiguous(made[i].Kind == ArgKind.Data ? mode : t.DType, candidate.Device))).ToArray();
            var candOut = c.Outputs.Select(o =>
            {
                var dtype = o.Kind switch { ArgKind.Data => mode, ArgKind.F32 => DType.F32, _ => o.ExactType };
                var t = Track(disposables, Tensor.Empty(o.Shape, dtype, candidate.Device));
                candidate.Fill(t, dtype.IsFloat() ? double.NaN : -1);
                return t;
            }).ToArray();
            c.Run(candidate, candIn, candOut);

            var pairs = c.Outputs.Select((o, i) => (Name: $"output {i}", o.Kind, Expected: refOut[i], Actual: candOut[i]))
                .Concat((c.CompareInputs ?? []).Select(i => (Name: $"input {i} (in place)", made[i].Kind, Expected: refIn[i], Actual: candIn[i])));
            double tolerance = Tolerance(mode), worst = 0;
            var failures = new List<string>();
            foreach (var (name, kind, expected, actual) in pairs)
            {
                if (kind == ArgKind.Exact)
                {
                    if (!expected.ToInt64Array().SequenceEqual(actual.ToInt64Array())) failures.Add($"{name}: integer outputs differ");
                    continue;
                }
                double err = Reference.NormalisedError(actual.ToFloatArray(), Reference.ToDouble(expected.ToFloatArray()));
                worst = Math.Max(worst, err);
                if (!(err <= tolerance)) failures.Add($"{name}: normalised error {err:E3} > {tolerance:E0}");
            }
            return new ParityResult(worst, failures);
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

    /// <summary>The reference's copy of an input: f32 on its device, Data inputs rounded through bf16 in bf16 mode.</summary>
    private static Tensor ReferenceInput(Tensor t, ArgKind kind, DType mode, Device device)
    {
        if (kind != ArgKind.Data || mode != DType.BF16) return t.Device == device ? t.Share() : t.Contiguous(t.DType, device);
        using var rounded = t.Contiguous(DType.BF16, Device.Cpu);
        return rounded.Contiguous(DType.F32, device);
    }
}
