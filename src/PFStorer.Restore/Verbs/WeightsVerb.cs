using System.CommandLine;
using System.Globalization;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using PFStorer.Graph.Personalization;
using PFStorer.Graph.Pipeline;
using PFStorer.Kernels;

namespace PFStorer.Restore;

/// <summary>
/// `weights inspect | convert | verify`: look inside checkpoints without loading them, turn a PyTorch .ckpt into
/// safetensors, and check a file against the architecture's (key, shape) set and its values (NaN, Inf, all zero).
/// Names and metadata from the file are printed escaped (TerminalText).
/// </summary>
internal static class WeightsVerb
{
    /// <summary>Exit codes (ExitCodes): 0 ok, 1 verify found problems, 2 the file is unreadable or the arguments are wrong.</summary>
    private const int Ok = ExitCodes.Ok, Differences = ExitCodes.Failed, BadInput = ExitCodes.Usage;

    /// <summary>Expected (checkpoint key, shape) pairs for the components a file holds (<see cref="StableSRKeyMap.ComponentsIn"/>).</summary>
    public delegate IEnumerable<KeyShape> Architecture(string checkpointPath, IReadOnlySet<StableSRComponent> components);

    /// <param name="architecture">What `verify` checks against when no --expect list is given (default: <see cref="StableSR"/>).</param>
    public static Command Create(Architecture? architecture = null)
    {
        architecture ??= StableSR;
        var cmd = new Command("weights", "Inspect, convert and verify StableSR checkpoints (.ckpt/.pt/.pth zip files and .safetensors).");
        cmd.Subcommands.Add(Inspect());
        cmd.Subcommands.Add(Convert());
        cmd.Subcommands.Add(Verify(architecture));
        return cmd;
    }

    private static Command Inspect()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "checkpoint to inspect (only its headers / pickle are read)" };
        var list = new Option<bool>("--tensors") { Description = "also list every tensor with dtype and shape" };
        var cmd = new Command("inspect", "Show a checkpoint's tensors, dtypes, parameter counts per component and metadata.") { file, list };
        cmd.SetAction(r => Guarded(r, o =>
        {
            using var ckpt = Checkpoint.Open(r.GetValue(file)!.FullName);
            o.WriteLine($"{ckpt.Path}");
            o.WriteLine($"  format     {ckpt.Format}{(ckpt is TorchZipCheckpoint z ? $" (archive folder '{z.ArchivePrefix}', data.pkl {z.PickleBytes} bytes)" : "")}");
            o.WriteLine($"  tensors    {ckpt.Tensors.Count}, {Count(ckpt.Tensors.Sum(t => t.Numel))} elements, {Bytes(ckpt.Tensors.Sum(t => t.Bytes))}");
            o.WriteLine($"  dtypes     {string.Join(", ", ckpt.Tensors.GroupBy(t => t.DType).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}");
            foreach (var (k, v) in ckpt.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) o.WriteLine(TerminalText.Escape($"  metadata   {k} = {v}"));
            if (ckpt is TorchZipCheckpoint zip)
                foreach (var (k, summary) in zip.TopLevel.Where(e => !ckpt.Metadata.ContainsKey(e.Key))) o.WriteLine(TerminalText.Escape($"  top level  {k}: {summary}"));
            if (ckpt.Metadata.GetValueOrDefault(IdentityFile.FormatKey) == IdentityFile.Format)
            {
                IdentitySummary(ckpt, o);
                return Ok;
            }
            o.WriteLine($"  {"component",-18} {"prefix",-26} {"tensors",8} {"parameters",15} {"bytes",10}");
            foreach (var g in ckpt.Tensors.GroupBy(t => Group(t.Name)).OrderBy(g => g.Key, StringComparer.Ordinal))
                o.WriteLine(TerminalText.Escape($"  {g.Key.Split('|')[0],-18} {g.Key.Split('|')[1],-26} {g.Count(),8} {Count(g.Sum(t => t.Numel)),15} {Bytes(g.Sum(t => t.Bytes)),10}"));
            if (r.GetValue(list))
                foreach (var t in ckpt.Tensors) o.WriteLine(TerminalText.Escape($"  {t.Name} {t.DType} {t.ShapeString}"));
            return Ok;
        }));
        return cmd;
    }

    private static Command Convert()
    {
        var input = new Argument<FileInfo>("IN") { Description = "checkpoint to read (.ckpt/.pt/.pth or .safetensors)" };
        var output = new Argument<FileInfo>("OUT") { Description = "safetensors file to write (atomically; never the input)" };
        var dtype = new Option<string?>("--dtype") { Description = "store float tensors as f32, f16 or bf16 (default: keep each tensor's dtype)" };
        var cmd = new Command("convert", "Rewrite a checkpoint as safetensors, streaming one tensor at a time.") { input, output, dtype };
        cmd.SetAction((r, cancel) => Task.FromResult(Guarded(r, o =>
        {
            CheckpointDType? target = r.GetValue(dtype)?.ToLowerInvariant() switch
            {
                null => null,
                "f32" or "float32" => CheckpointDType.F32,
                "f16" or "float16" or "half" => CheckpointDType.F16,
                "bf16" or "bfloat16" => CheckpointDType.BF16,
                var other => throw new ArgumentException($"--dtype {other}: use f32, f16 or bf16"),
            };
            string inPath = r.GetValue(input)!.FullName, outPath = r.GetValue(output)!.FullName;
            if (OutputLocation.CheckFile(outPath, "OUT", [inPath]) is { } problem) throw new ArgumentException(problem);
            using var ckpt = Checkpoint.Open(inPath);
            o.WriteLine($"converting {ckpt.Tensors.Count} tensors ({Bytes(ckpt.Tensors.Sum(t => t.Bytes))}) to {outPath} …");
            o.Flush();
            CheckpointConversion.ToSafetensors(ckpt, outPath, target, cancel);
            o.WriteLine($"wrote {outPath}: {ckpt.Tensors.Count} tensors, {Bytes(new FileInfo(outPath).Length)}");
            return Ok;
        })));
        return cmd;
    }

    private static Command Verify(Architecture architecture)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "checkpoint to verify" };
        var expect = new Option<FileInfo?>("--expect") { Description = "key list to check against, one 'key [d0,d1,...]' per line (e.g. tests/fixtures/spec/stablesr_keys.txt)" };
        var cmd = new Command("verify", "Compare a checkpoint with the architecture (missing, unexpected and shape-mismatched keys) and check every value (NaN, Inf, all-zero tensors).") { file, expect };
        cmd.SetAction(r => Guarded(r, o =>
        {
            using var ckpt = Checkpoint.Open(r.GetValue(file)!.FullName);
            var components = StableSRKeyMap.ComponentsIn(ckpt);
            var expected = r.GetValue(expect) is { } list ? KeyList.Read(list.FullName) : architecture(ckpt.Path, components);
            var report = LoadReport.Verify(ckpt, expected);
            o.WriteLine(TerminalText.Escape($"{ckpt.Path}: components {string.Join(", ", components.Order())}"));
            foreach (var line in report.Lines()) o.WriteLine(TerminalText.Escape(line));
            var problems = new List<string>();
            if (ckpt.Tensors.Count == 0) problems.Add("the file holds no tensors");
            else if (components.Count == 0 && r.GetValue(expect) == null) problems.Add("no tensor belongs to a StableSR component (not a StableSR checkpoint)");
            if (!report.IsExact) problems.Add("the keys do not match the architecture");
            int nonFinite = 0, allZero = 0;
            foreach (var t in ckpt.Tensors)
            {
                var counts = TensorValues.Count(ckpt, t);
                if (counts.NonFinite > 0)
                {
                    nonFinite++;
                    o.WriteLine(TerminalText.Escape($"  non-finite  {t.Name} {t.ShapeString}: {counts.NonFinite} of {counts.Count} values ({counts.NaN} NaN, {counts.Infinite} Inf)"));
                }
                else if (counts.AllZero)
                {
                    allZero++;
                    o.WriteLine(TerminalText.Escape($"  all zero    {t.Name} {t.ShapeString}"));
                }
            }
            o.WriteLine($"values: {ckpt.Tensors.Count - nonFinite} of {ckpt.Tensors.Count} tensors finite, {allZero} all zero"
                + (allZero > 0 ? " (legal, but in trained weights usually a sign of damage)" : ""));
            if (nonFinite > 0) problems.Add($"{nonFinite} tensor(s) hold NaN or Inf");
            o.WriteLine(problems.Count == 0 ? "OK: the file matches the architecture and every value is finite" : "PROBLEMS: " + string.Join("; ", problems));
            return problems.Count == 0 ? Ok : Differences;
        }));
        return cmd;
    }

    /// <summary>
    /// The StableSR model classes (shape-only, no weights allocated): the released 512 configuration, or the config.json
    /// beside the checkpoint when there is one (as the tiny demo model ships), the same rule StableSRWeights.Load uses.
    /// </summary>
    public static IEnumerable<KeyShape> StableSR(string checkpointPath, IReadOnlySet<StableSRComponent> components)
    {
        var config = StableSRWeights.ConfigFor(checkpointPath);
        var keys = new List<KeyShape>();
        if (components.Contains(StableSRComponent.CfwVae))
            using (var vae = new AutoencoderKL(config.CfwVae, cfw: true))
                keys.AddRange(StableSRKeyMap.ExpectedKeys(vae, StableSRComponent.CfwVae));
        if (components.Any(c => c != StableSRComponent.CfwVae))
        {
            // LatentDiffusionSRTextWT registers its children under their checkpoint prefixes, so its paths are the keys.
            using var model = new LatentDiffusionSRTextWT(config);
            keys.AddRange(model.NamedParameters().Select(p => new KeyShape(p.Path, p.Param.ShapeArray())));
            keys.AddRange(StableSRKeyMap.ScheduleBuffers.Select(b => new KeyShape(b, [1000])));
        }
        return keys;
    }

    /// <summary>Runs a verb body; unreadable files and bad arguments become one clear line on stderr and exit code 2.</summary>
    private static int Guarded(ParseResult r, Func<TextWriter, int> body)
    {
        try { return body(r.InvocationConfiguration.Output); }
        catch (Exception e) when (e is CheckpointFormatException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            r.InvocationConfiguration.Error.WriteLine($"error: {TerminalText.Escape(e.Message)}");
            return BadInput;
        }
        catch (OperationCanceledException)
        {
            r.InvocationConfiguration.Error.WriteLine("error: interrupted; nothing was written");
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>An identity file's contents by placement: γ (how strongly each block acts), block size, and the reference latents.</summary>
    private static void IdentitySummary(Checkpoint ckpt, TextWriter o)
    {
        o.WriteLine($"  identity   placements {ckpt.Metadata.GetValueOrDefault(IdentityFile.PlacementsKey)}");
        o.WriteLine($"  {"placement",-22} {"parameters",12} {"mean |γ|",10} {"max |γ|",10}");
        foreach (var g in ckpt.Tensors.Where(t => t.Name.Contains(".personalization.")).GroupBy(t => t.Name[..t.Name.IndexOf(".personalization.", StringComparison.Ordinal)]))
        {
            using var gamma = ckpt.Load($"{g.Key}.personalization.gamma", DType.F32);
            var v = gamma.ToFloatArray();
            o.WriteLine($"  {g.Key,-22} {Count(g.Sum(t => t.Numel)),12} {v.Average(x => Math.Abs(x)),10:G4} {v.Max(x => Math.Abs(x)),10:G4}");
        }
        if (ckpt.TryGet("token", out var token)) o.WriteLine($"  token      {token.ShapeString}");
        var references = ckpt.Tensors.Where(t => t.Name.StartsWith("reference.", StringComparison.Ordinal) && t.Name.EndsWith(".mean", StringComparison.Ordinal)).ToArray();
        o.WriteLine($"  references {references.Length} reference latent(s) {(references.Length > 0 ? references[0].ShapeString : "")}");
    }

    /// <summary>"component|prefix" for the inspect table, from the one name map.</summary>
    private static string Group(string key)
    {
        var route = StableSRKeyMap.Route(key);
        if (route.Ignored) return "(ignored)|" + key.Split('.')[0] + ".";
        if (route.Component is not { } c) return "(unmapped)|" + (key.Contains('.') ? key.Split('.')[0] + "." : key);
        string prefix = StableSRKeyMap.PrefixOf(c);
        return $"{c}|{(prefix.Length > 0 ? prefix : c == StableSRComponent.CfwVae ? key.Split('.')[0] + "." : "(none)")}";
    }

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{n / 1024.0:F1} KiB",
        _ => $"{n} B",
    };
}
