using System.CommandLine;
using System.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using PFStorer.Graph.Checkpoints;
using PFStorer.Images;
using PFStorer.Training.Degradations;

namespace PFStorer.Restore;

/// <summary>
/// `degrade IN… -o OUT --level light|heavy --seed S`: the paper's degradations (docs/degradations.md) applied to photos,
/// each written as OUT/&lt;name&gt;.png with a JSON sidecar OUT/&lt;name&gt;.json holding every sampled parameter, so an
/// evaluation set can be regenerated bit for bit. Each image's stream is derived from S and its file name, so adding
/// or removing files does not change the others' degradations.
/// </summary>
internal static class DegradeVerb
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Image files, folders or globs (PNG, JPEG, WebP, BMP, TIFF, GIF).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "Output folder.", Required = true };
        var level = new Option<DegradationLevel>("--level") { Description = "light or heavy (docs/degradations.md).", DefaultValueFactory = _ => DegradationLevel.Light };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the whole set.", DefaultValueFactory = _ => 0UL };
        var cmd = new Command("degrade", "Degrade photos with the paper's light or heavy model; writes PNGs and JSON sidecars.")
        {
            inputs, output, level, seed,
        };
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse.GetValue(inputs)!, parse.GetValue(output)!, parse.GetValue(level), parse.GetValue(seed), cancel)));
        return cmd;
    }

    internal static int Run(string[] inputs, string outDir, DegradationLevel level, ulong seed, CancellationToken cancel = default)
    {
        var (files, problems) = ImageInputs.Expand(inputs);
        if (problems.Count > 0)
        {
            foreach (var p in problems) Console.Error.WriteLine($"degrade: {p}");
            return ExitCodes.Usage;
        }
        string outFull = Path.GetFullPath(outDir);
        if (ImageInputs.OutputClashes(files) is { Count: > 0 } clashes)
        {
            foreach (var c in clashes) Console.Error.WriteLine($"degrade: {c}");
            return ExitCodes.Usage;
        }
        if (OutputLocation.CheckFolder(outFull, "-o") is { } unusable)
        {
            Console.Error.WriteLine($"degrade: {unusable}");
            return ExitCodes.Usage;
        }
        int failed = 0;
        foreach (var file in files)
        {
            if (cancel.IsCancellationRequested) break;
            string name = Path.GetFileNameWithoutExtension(file);
            string png = Path.Combine(outFull, name + ".png"), sidecar = Path.Combine(outFull, name + ".json");
            if (FileIdentity.SameAsAny(png, files) || FileIdentity.SameAsAny(sidecar, files))
            {
                Console.Error.WriteLine($"degrade: {file}: {png} would overwrite an input; choose another -o");
                failed++;
                continue;
            }
            try
            {
                byte[] bytes = File.ReadAllBytes(file);
                var image = ImageFile.Decode(bytes, file);
                ulong itemSeed = ItemSeed(seed, Path.GetFileName(file));
                var parameters = Degradation.Sample(level, itemSeed);
                var degraded = Degradation.Apply(image, parameters);
                string json = Sidecar(file, bytes, image, seed, parameters);
                cancel.ThrowIfCancellationRequested();
                var pngBytes = ImageFile.Encode(degraded, ImageSaveOptions.Png(new Dictionary<string, string> { ["pfstorer.degradation"] = json }));
                AtomicFile.Write(png, stream => stream.Write(pngBytes));
                AtomicFile.Write(sidecar, stream => stream.Write(Encoding.UTF8.GetBytes(json)));
                Console.WriteLine($"{Path.GetFileName(file)} → {png}");
            }
            catch (ImageFormatException e)
            {
                Console.Error.WriteLine($"degrade: {e.Message}");
                failed++;
            }
            catch (OperationCanceledException) { break; }
        }
        if (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("degrade: interrupted; the images listed above are complete");
            return ExitCodes.Interrupted;
        }
        Console.WriteLine($"degrade: {files.Count - failed} of {files.Count} images written to {outFull} ({level.ToString().ToLowerInvariant()}, seed {seed})");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The per-image seed: SplitMix-style mix of the set seed with the FNV-1a hash of the file name.</summary>
    internal static ulong ItemSeed(ulong seed, string fileName)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(fileName)) h = (h ^ b) * 0x100000001B3UL;
        return DegradationRng.ForItem(seed, h).NextUInt64();
    }

    private static string Sidecar(string file, byte[] bytes, Image image, ulong setSeed, DegradationParameters parameters)
    {
        var node = new JsonObject
        {
            ["source"] = Path.GetFileName(file),
            ["sourceSha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            ["width"] = image.Width,
            ["height"] = image.Height,
            ["setSeed"] = setSeed,
            ["engine"] = $"PFStorer.Native {typeof(DegradeVerb).Assembly.GetName().Version}",
            ["parameters"] = JsonSerializer.SerializeToNode(parameters, DegradationJson.Options),
        };
        return node.ToJsonString(DegradationJson.Options);
    }
}
