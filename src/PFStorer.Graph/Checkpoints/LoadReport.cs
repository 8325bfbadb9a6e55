using PFStorer.Graph.Modules;
using PFStorer.Kernels;

namespace PFStorer.Graph.Checkpoints;

/// <summary>A checkpoint key with a shape (expected by the architecture or found in a file).</summary>
public sealed record KeyShape(string Key, int[] Shape)
{
    public string ShapeString => "[" + string.Join(",", Shape) + "]";
    public override string ToString() => $"{Key} {ShapeString}";
}

public sealed record ShapeMismatch(string Key, int[] Expected, int[] Actual)
{
    public override string ToString() => $"{Key}: expected [{string.Join(",", Expected)}], file has [{string.Join(",", Actual)}]";
}

/// <summary>
/// Outcome of matching a checkpoint against an architecture: keys the architecture needs but the file lacks, keys the
/// file has but nothing uses, keys whose shapes differ, and keys skipped on purpose (see <see cref="StableSRKeyMap"/>).
/// </summary>
public sealed class LoadReport
{
    public IReadOnlyList<KeyShape> Missing { get; }
    public IReadOnlyList<KeyShape> Unexpected { get; }
    public IReadOnlyList<ShapeMismatch> Mismatched { get; }
    public IReadOnlyList<string> Ignored { get; }
    public int Matched { get; }

    private LoadReport(List<KeyShape> missing, List<KeyShape> unexpected, List<ShapeMismatch> mismatched, List<string> ignored, int matched)
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
        Ignored = ignored;
        Matched = matched;
    }

    /// <summary>True when every expected key is present with its shape and nothing else (besides ignored keys) is in the file.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>Compares an expected key set with a file's keys; <paramref name="ignore"/> removes file keys from the comparison.</summary>
    public static LoadReport Compare(IEnumerable<KeyShape> expected, IEnumerable<KeyShape> actual, Func<string, bool>? ignore = null)
    {
        var found = new Dictionary<string, KeyShape>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var a in actual)
        {
            if (ignore?.Invoke(a.Key) == true) ignored.Add(a.Key);
            else found[a.Key] = a;
        }
        var missing = new List<KeyShape>();
        var mismatched = new List<ShapeMismatch>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        int matched = 0;
        foreach (var e in expected)
        {
            if (!used.Add(e.Key)) throw new ArgumentException($"architecture lists '{e.Key}' twice");
            if (!found.TryGetValue(e.Key, out var a)) missing.Add(e);
            else if (!a.Shape.AsSpan().SequenceEqual(e.Shape)) mismatched.Add(new ShapeMismatch(e.Key, e.Shape, a.Shape));
            else matched++;
        }
        var unexpected = found.Values.Where(a => !used.Contains(a.Key)).ToList();
        return new LoadReport(missing, unexpected, mismatched, ignored, matched);
    }

    /// <summary>Checks a whole file against the architecture's key set; keys the name map ignores are left out.</summary>
    public static LoadReport Verify(Checkpoint checkpoint, IEnumerable<KeyShape> expected) =>
        Compare(expected, checkpoint.Tensors.Select(t => new KeyShape(t.Name, t.ShapeArray())), k => StableSRKeyMap.Route(k).Ignored);

    /// <summary>
    /// Fills <paramref name="module"/>'s parameters from the keys routed to <paramref name="component"/>, converting to
    /// <paramref name="dtype"/> as they load. Missing or mismatched parameters stay unloaded and are in the report.
    /// A tensor already stored contiguously in <paramref name="dtype"/> is used in place, over the file mapping (no
    /// copy, no new memory); the mapping is copy-on-write, so a parameter written later (training, an in-place op)
    /// diverges privately and the file is never touched. With <paramref name="staging"/>, parameters are made on its
    /// device and filled straight from the file through host staging buffers (no host copy of the model).
    /// </summary>
    public static LoadReport LoadInto(Checkpoint checkpoint, Module module, StableSRComponent component, DType dtype = DType.F32, DeviceStaging? staging = null)
    {
        var mine = checkpoint.Tensors.Where(t => StableSRKeyMap.Route(t.Name).Component == component)
            .Select(t => new KeyShape(t.Name, t.ShapeArray()));
        var report = Compare(StableSRKeyMap.ExpectedKeys(module, component), mine);
        var bad = report.Missing.Select(m => m.Key).Concat(report.Mismatched.Select(m => m.Key)).ToHashSet(StringComparer.Ordinal);
        var todo = module.NamedParameters(StableSRKeyMap.PrefixOf(component)).Where(p => !bad.Contains(p.Path)).ToArray();
        if (staging != null)
            // Device loads go one tensor at a time: the staging's worker count is what bounds their host memory.
            foreach (var (path, param) in todo) param.Assign(Load(checkpoint, path, dtype, staging));
        else
            // Host loads run tensors side by side as well as blocks within a tensor: most of the 1,600 tensors of a
            // StableSR checkpoint are too small to split, and loaded one by one they left a core idle (f16 512 model:
            // 4–6 s → 3–4 s on 2 cores, docs/architecture.md "Loading weights").
            ParallelFailure.Unwrap(() => Parallel.ForEach(todo, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                p => p.Param.Assign(Load(checkpoint, p.Path, dtype, null))));
        return report;
    }

    private static Tensor Load(Checkpoint checkpoint, string path, DType dtype, DeviceStaging? staging) =>
        staging == null && checkpoint.CanMap(path, dtype) ? checkpoint.Map(path) : checkpoint.Load(path, dtype, staging);

    /// <summary>The summary line, then one line per missing, unexpected and mismatched key (names as the file has them).</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"{Matched} matched, {Missing.Count} missing, {Unexpected.Count} unexpected, {Mismatched.Count} shape mismatches, {Ignored.Count} ignored";
        foreach (var m in Missing) yield return $"  missing     {m}";
        foreach (var u in Unexpected) yield return $"  unexpected  {u}";
        foreach (var m in Mismatched) yield return $"  mismatched  {m}";
    }

    public override string ToString() => string.Join("\n", Lines());
}
