using PFStorer.Graph;
using PFStorer.Graph.Backends;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// Backend parity suite: every <see cref="ParityCases"/> case, forward and backward, on every registered backend other
/// than the CPU one (the candidate) against the CPU backend (the reference), in f32 (normalised error ≤ 1e-5) and bf16
/// storage (≤ 1e-2). A new backend gets the whole suite by being opened in <see cref="ParityBackends"/>. Each row prints
/// "| op | backend | dtype | error |". Where no candidate could be opened every case reports skipped with the reasons.
/// </summary>
public sealed class BackendParityTests(ITestOutputHelper output)
{
    public static TheoryData<ParityCase, DType, ParityCandidate> Cases()
    {
        var data = new TheoryData<ParityCase, DType, ParityCandidate>();
        var candidates = ParityBackends.Candidates();
        foreach (var c in ParityCases.All())
        foreach (var mode in new[] { DType.F32, DType.BF16 })
        foreach (var candidate in candidates)
            data.Add(c, mode, candidate);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases), DisableDiscoveryEnumeration = true)]
    public void Candidate_matches_cpu_reference(ParityCase c, DType mode, ParityCandidate candidate)
    {
        if (candidate.Backend == null) Assert.Skip(candidate.Name);
        var rng = Reference.NewRandom(out int seed);
        var result = ParityRunner.Compare(c, mode, CpuBackend.Instance, candidate.Backend, rng);
        output.WriteLine($"| {c.Name} | {candidate.Name} | {mode} | {result.WorstError:E2} |");
        Assert.True(result.Failures.Count == 0, $"{c.Name} on {candidate.Name} in {mode} (seed {seed}): {string.Join("; ", result.Failures)}");
    }
}

/// <summary>A candidate backend of the parity suite, or (Backend null) the stated reason there is none.</summary>
public sealed record ParityCandidate(IBackend? Backend, string Name)
{
    public override string ToString() => Name;
}

/// <summary>Opens every backend this build can open; each one registers itself with <see cref="Backend"/>.</summary>
internal static class ParityBackends
{
    /// <summary>Every registered backend except the CPU reference, or one placeholder whose name says why there is none.</summary>
    public static IReadOnlyList<ParityCandidate> Candidates()
    {
        var unavailable = new List<string>();
        if (Gpu.TryOpen(out var cudaReason) == null) unavailable.Add($"CUDA: {cudaReason}");
        var candidates = Backend.All().Where(b => b.Device != Device.Cpu).Select(b => new ParityCandidate(b, b.Device.ToString())).ToList();
        return candidates.Count > 0 ? candidates
            : [new ParityCandidate(null, $"no backend besides the CPU reference is available ({string.Join("; ", unavailable)})")];
    }
}
