using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using PFStorer.Graph;
using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The parity machinery checked without a second backend: the candidate is the CPU backend behind a wrapper that
/// tampers with one op. The runner must measure a scaling of that op's output by 1+δ as normalised error δ (and fail it
/// above the f32 tolerance, pass it well below), and must fail an output the candidate never writes.
/// </summary>
public sealed class ParityRunnerTests
{
    public static TheoryData<string, string> Tampered() => new()
    {
        { "conv2d 3x3 s2 p1", nameof(IBackend.Conv2d) },
        { "layernorm", nameof(IBackend.LayerNorm) },
        { "binary Mul broadcast both", nameof(IBackend.Binary) },
    };

    [Theory]
    [MemberData(nameof(Tampered))]
    public void Runner_measures_a_scaled_output_as_its_relative_size(string caseName, string method)
    {
        var c = ParityCases.All().Single(p => p.Name == caseName);
        var rng = Reference.NewRandom(out int seed);
        double delta = 1e-3 * (1 + rng.NextDouble());
        var result = ParityRunner.Compare(c, DType.F32, CpuBackend.Instance, TamperingBackend.Scaling(CpuBackend.Instance, method, delta), rng);
        Assert.NotEmpty(result.Failures);
        Assert.InRange(result.WorstError, 0.99 * delta, 1.01 * delta);

        double small = ParityRunner.F32Tolerance / 10;
        var passing = ParityRunner.Compare(c, DType.F32, CpuBackend.Instance, TamperingBackend.Scaling(CpuBackend.Instance, method, small), rng);
        Assert.True(passing.Failures.Count == 0, $"seed {seed}: {string.Join("; ", passing.Failures)}");
        Assert.InRange(passing.WorstError, 0.9 * small, 1.1 * small);
    }

    [Theory]
    [MemberData(nameof(Tampered))]
    public void Runner_fails_an_output_the_candidate_never_writes(string caseName, string method)
    {
        var c = ParityCases.All().Single(p => p.Name == caseName);
        var result = ParityRunner.Compare(c, DType.F32, CpuBackend.Instance, TamperingBackend.Skipping(CpuBackend.Instance, method), Reference.NewRandom(out _));
        Assert.NotEmpty(result.Failures);
        Assert.Equal(double.PositiveInfinity, result.WorstError);
    }
}

/// <summary>
/// A backend that forwards every call to another one except <see cref="_method"/>: that one is skipped, or its last
/// tensor argument (the op's last output) is scaled by 1+δ afterwards through a host round trip.
/// </summary>
public class TamperingBackend : DispatchProxy
{
    private IBackend _inner = null!;
    private string _method = "";
    private double? _delta;

    public static IBackend Scaling(IBackend inner, string method, double delta) => Create(inner, method, delta);

    public static IBackend Skipping(IBackend inner, string method) => Create(inner, method, null);

    private static IBackend Create(IBackend inner, string method, double? delta)
    {
        var proxy = DispatchProxy.Create<IBackend, TamperingBackend>();
        var self = (TamperingBackend)(object)proxy;
        (self._inner, self._method, self._delta) = (inner, method, delta);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var m = targetMethod!;
        bool target = m.Name == _method;
        if (target && _delta == null) return null;
        object? result;
        try
        {
            result = m.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (target)
        {
            var y = args!.OfType<Tensor>().Last();
            var values = y.ToFloatArray();
            float factor = (float)(1 + _delta!.Value);
            for (int i = 0; i < values.Length; i++) values[i] *= factor;
            _inner.CopyFromHost(MemoryMarshal.AsBytes(values.AsSpan()), y);
        }
        return result;
    }
}
