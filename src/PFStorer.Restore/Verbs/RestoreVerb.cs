using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using PFStorer.Graph.Sampling;
using Spectre.Console;
using static PFStorer.Restore.HostMessages;

namespace PFStorer.Restore;

/// <summary>
/// `restore`: StableSR restoration with PFStorer's prompts and guidance on files, folders or globs. One restorer serves
/// the whole batch; a bad input names the file and the batch goes on (exit code 1 at the end); outputs (PNG by default,
/// with the settings in their text metadata; JPEG or WebP on request) are written atomically and keep the input's gray
/// or alpha; existing outputs are kept unless --overwrite; inputs are never overwritten. Missing or wrong weights stop
/// at once with exit code 2. One --identity restores as that person; several restore group photos face by face
/// (<see cref="RestoreIdentities"/>).
/// </summary>
internal static class RestoreVerb
{
    private static readonly RestoreSettings Defaults = new();

    private static readonly Argument<string[]> Inputs = new("inputs") { Description = "Images, folders of images or globs (*.png).", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<string> Output = new("--output", "-o") { Description = "Folder for the restored images.", DefaultValueFactory = _ => "results" };
    private static readonly Option<int> Steps = new("--steps") { Description = "Respaced DDPM steps.", DefaultValueFactory = _ => Defaults.Steps };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Noise seed (same seed, same output).", DefaultValueFactory = _ => Defaults.Seed };
    private static readonly Option<float> Cfg = new("--cfg") { Description = "Classifier-free guidance scale λ (1 = no negative branch).", DefaultValueFactory = _ => Defaults.Cfg };
    private static readonly Option<string> Prompt = new("--prompt") { Description = "Positive prompt.", DefaultValueFactory = _ => Defaults.Prompt };
    private static readonly Option<string> NegativePrompt = new("--negative-prompt") { Description = "Negative prompt.", DefaultValueFactory = _ => Defaults.NegativePrompt };
    private static readonly Option<float> Upscale = new("--upscale") { Description = "Output size over input size.", DefaultValueFactory = _ => Defaults.Upscale };
    private static readonly Option<int?> TileSize = new("--tile-size") { Description = "Latent tile side (default: the model's, 64 for the 512 model)." };
    private static readonly Option<int?> TileOverlap = new("--tile-overlap") { Description = "Latent tile overlap (default: half the tile)." };
    private static readonly Option<float> DecW = new("--dec-w") { Description = "CFW fusion weight w of the decoder.", DefaultValueFactory = _ => Defaults.DecoderWeight };
    private static readonly Option<string> ColorFix = new("--color-fix") { Description = "Colour correction against the input.", DefaultValueFactory = _ => "adain" };
    private static readonly Option<string> PrecisionOpt = new("--precision") { Description = "fp32; bf16 is refused until the model ops compute in it (hidden until then).", DefaultValueFactory = _ => "fp32", Hidden = true };
    private static readonly Option<string> DeviceOpt = new("--device") { Description = "cpu, cuda, or auto (the CPU until the CUDA path has been verified on a GPU).", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> Weights = new("--weights") { Description = "StableSR checkpoint (stablesr_000117.ckpt or .safetensors).", DefaultValueFactory = _ => Path.Combine("weights", "stablesr_000117.ckpt") };
    private static readonly Option<string> Vae = new("--vae") { Description = "CFW VAE checkpoint (vqgan_cfw_00011.ckpt).", DefaultValueFactory = _ => Path.Combine("weights", "vqgan_cfw_00011.ckpt") };
    private static readonly Option<bool> Overwrite = new("--overwrite") { Description = "Replace outputs that already exist." };
    private static readonly Option<string[]> IdentityOpt = new("--identity")
    {
        Description = "Identity file (*.pfid.safetensors from `personalize`): restore as that person. Repeat it for a group photo: each face is restored " +
            "with the identity it matches (docs/faces.md). The default prompt then holds the token *.",
        Arity = ArgumentArity.ZeroOrMore,
    };
    private static readonly Option<string?> FaceWeights = new("--face-weights")
    {
        Description = $"Folder of the face networks for group photos (default $PFSTORER_FACE_WEIGHTS or weights/face-api, installed by {Graph.Faces.FaceWeights.InstallCommand}).",
    };
    private static readonly Option<float> LambdaAtt = new("--lambda-att") { Description = "λatt, the scale of the identity's personalization blocks (0 = the learned token only).", DefaultValueFactory = _ => Defaults.LambdaAtt };
    private static readonly Option<int> Reference = new("--reference") { Description = "Which of the identity's reference photos the reference stream uses (0-based).", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> ReferenceCache = new("--reference-cache-mib") { Description = "Memory (MiB) for the identity's reference stream, computed once per batch for the timesteps that fit (0 = off; results are the same).", DefaultValueFactory = _ => (int)(Defaults.ReferenceCacheBytes >> 20) };
    private static readonly Option<string> FormatOpt = new("--format") { Description = "Output format: png (settings kept in its metadata), jpg or webp.", DefaultValueFactory = _ => "png" };
    private static readonly Option<int> Quality = new("--quality") { Description = "JPEG/WebP quality, 1..100.", DefaultValueFactory = _ => 95 };
    private static readonly Option<int> BitDepth = new("--bit-depth") { Description = "Bits per sample of PNG outputs: 8, or 16 (keeps the restoration unrounded).", DefaultValueFactory = _ => 8 };

    public static Command Create()
    {
        ColorFix.AcceptOnlyFromAmong("adain", "wavelet", "none");
        PrecisionOpt.AcceptOnlyFromAmong("fp32", "bf16");
        DeviceOpt.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        FormatOpt.AcceptOnlyFromAmong("png", "jpg", "webp");
        BitDepth.AcceptOnlyFromAmong("8", "16");
        var cmd = new Command("restore", "Restore degraded photos (StableSR + PFStorer guidance); writes <output>/<name>.png (or .jpg, .webp).");
        cmd.Arguments.Add(Inputs);
        foreach (var o in new Option[] { Output, Steps, Seed, Cfg, Prompt, NegativePrompt, Upscale, TileSize, TileOverlap, DecW, ColorFix, PrecisionOpt, DeviceOpt, Weights, Vae, Overwrite, IdentityOpt, FaceWeights, LambdaAtt, Reference, ReferenceCache, FormatOpt, Quality, BitDepth })
            cmd.Options.Add(o);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(parse, cancel)));
        return cmd;
    }

    private enum Outcome { Restored, Skipped, Failed }

    private static int Run(ParseResult parse, CancellationToken cancel)
    {
        string[] identityPaths = parse.GetValue(IdentityOpt) ?? [];
        bool promptGiven = parse.GetResult(Prompt) is { Implicit: false };
        var settings = new RestoreSettings
        {
            Steps = parse.GetValue(Steps), Seed = parse.GetValue(Seed), Cfg = parse.GetValue(Cfg),
            Prompt = identityPaths.Length > 0 && !promptGiven ? Prompts.PositiveWithIdentity : parse.GetValue(Prompt)!,
            LambdaAtt = parse.GetValue(LambdaAtt), ReferenceIndex = parse.GetValue(Reference), ReferenceCacheBytes = (long)parse.GetValue(ReferenceCache) << 20, NegativePrompt = parse.GetValue(NegativePrompt)!, Upscale = parse.GetValue(Upscale),
            TileSize = parse.GetValue(TileSize), TileOverlap = parse.GetValue(TileOverlap), DecoderWeight = parse.GetValue(DecW),
            ColorFix = parse.GetValue(ColorFix) switch { "wavelet" => ColorFixMode.Wavelet, "none" => ColorFixMode.None, _ => ColorFixMode.AdaIn },
            Precision = parse.GetValue(PrecisionOpt) == "bf16" ? Precision.Bf16 : Precision.Fp32,
            Device = ParseDevice(parse.GetValue(DeviceOpt)),
        };
        var save = new ImageSaveOptions(parse.GetValue(FormatOpt) switch { "jpg" => OutputFormat.Jpeg, "webp" => OutputFormat.Webp, _ => OutputFormat.Png },
            parse.GetValue(Quality), SixteenBit: parse.GetValue(BitDepth) == 16);
        try { Restorer.Validate(settings, parse.GetValue(Weights)!); save.Validate(); }
        catch (ArgumentException e) { return Fail(2, e.Message); }

        var (files, problems) = ImageInputs.Expand(parse.GetValue(Inputs)!);
        foreach (var p in problems) Error(p);
        if (files.Count == 0) return Fail(2, "no input images");
        string outDir = Path.GetFullPath(parse.GetValue(Output)!);
        if (OutputLocation.CheckFolder(outDir, "--output") is { } unusable) return Fail(2, unusable);
        if (ImageInputs.OutputClashes(files) is { Count: > 0 } clashes) return Fail(2, string.Join("; ", clashes));

        Restorer restorer;
        var loadClock = Stopwatch.StartNew();
        try { restorer = Restorer.Load(parse.GetValue(Weights)!, parse.GetValue(Vae)!, settings.Device, settings.Precision); }
        catch (Exception e) when (e is WeightsException or NotSupportedException or InvalidDataException)
        {
            return Fail(2, e.Message);
        }
        using (restorer)
        {
            Console.WriteLine($"weights loaded in {loadClock.Elapsed.TotalSeconds:0.0} s on {restorer.Device}");
            using var identities = RestoreIdentities.Open(restorer, identityPaths, settings, parse.GetValue(FaceWeights), out var problem);
            if (problem != null) return Fail(2, problem);
            settings = identities.Apply(settings);
            if (restorer.Config.UNet.ModelChannels != Graph.Models.StableSRConfig.Full512.UNet.ModelChannels)
                Console.WriteLine("NOTE: these are small demo weights with random values: the output shows the pipeline at work, not a restoration.");
            int tile = settings.TileSize ?? restorer.DefaultTileSize;
            var metadata = new Dictionary<string, string>(settings.ToMetadata(tile, Restorer.OverlapFor(settings, tile)))
            {
                ["Software"] = "PFStorer.Native",
                ["pfstorer:weights"] = Path.GetFileName(parse.GetValue(Weights)!),
                ["pfstorer:vae"] = Path.GetFileName(parse.GetValue(Vae)!),
            };
            identities.Describe(metadata, settings);

            var outcomes = new List<(string File, Outcome Outcome, string Detail)>();
            var clock = Stopwatch.StartNew();
            int stepsDone = 0;
            // A failure names the file in its message; the batch goes on.
            void Failed(string file, string message)
            {
                Error(message);
                outcomes.Add((file, Outcome.Failed, message));
            }
            foreach (var file in files)
            {
                if (cancel.IsCancellationRequested) break;
                string target = Path.Combine(outDir, Path.GetFileNameWithoutExtension(file) + save.Extension);
                string name = Path.GetFileName(file);
                // Output names are unique (clashes were refused up front); an output may still be an input's file.
                if (FileIdentity.SameAsAny(target, files)) { Failed(file, $"{file}: the output {target} is an input (the same file); choose another --output folder"); continue; }
                if (File.Exists(target) && !parse.GetValue(Overwrite))
                { outcomes.Add((file, Outcome.Skipped, "output exists (use --overwrite)")); Console.WriteLine($"{name}: skipped, {target} exists (use --overwrite to replace it)"); continue; }
                try
                {
                    var image = ImageFile.Read(file);
                    Directory.CreateDirectory(outDir);
                    var imageClock = Stopwatch.StartNew();
                    int steps = 0;
                    var kind = save.SixteenBit ? PixelKind.F32 : PixelKind.U8;
                    var text = new Dictionary<string, string>(metadata) { ["pfstorer:source"] = name };
                    GroupRestoration? group = null;
                    var restored = WithProgress(name, report =>
                    {
                        void Step(RestoreProgress p) { steps++; report(p); }
                        if (!identities.IsGroup) return restorer.Restore(image, settings, Step, cancel, kind);
                        group = identities.RestoreGroup(image, settings, Step, cancel, kind);
                        return group.Image;
                    });
                    if (group != null)
                    {
                        RestoreIdentities.Print(name, group);
                        text["pfstorer:faces"] = group.FacesJson();
                    }
                    stepsDone += steps;
                    var bytes = ImageFile.Encode(restored, save.Format == OutputFormat.Png ? save with { Text = text } : save);
                    if (restored.HasAlpha && save.Format == OutputFormat.Jpeg) Console.WriteLine($"{name}: JPEG has no alpha channel, the output drops it (--format png or webp keeps it)");
                    AtomicFile.Write(target, stream => stream.Write(bytes), parse.GetValue(Overwrite));
                    double rate = steps / Math.Max(imageClock.Elapsed.TotalSeconds, 1e-9);
                    Console.WriteLine($"{name}: {image.Width}x{image.Height} → {restored.Width}x{restored.Height} in {imageClock.Elapsed.TotalSeconds:0.0} s ({rate:0.00} steps/s) → {target}");
                    outcomes.Add((file, Outcome.Restored, target));
                }
                catch (OperationCanceledException) { Failed(file, $"{file}: cancelled"); break; }
                catch (Exception e) when (e is ImageFormatException or IOException or UnauthorizedAccessException or ArgumentException or NonFiniteLatentException)
                {
                    Failed(file, e is ImageFormatException ? e.Message : $"{file}: {e.Message}");
                }
            }

            int restoredCount = outcomes.Count(o => o.Outcome == Outcome.Restored), skipped = outcomes.Count(o => o.Outcome == Outcome.Skipped);
            int failed = outcomes.Count(o => o.Outcome == Outcome.Failed) + problems.Count;
            Console.WriteLine($"summary: {restoredCount} restored, {skipped} skipped, {failed} failed of {files.Count + problems.Count} inputs in {clock.Elapsed.TotalSeconds:0.0} s"
                + (stepsDone > 0 ? $", {stepsDone / clock.Elapsed.TotalSeconds:0.00} steps/s" : ""));
            foreach (var (_, _, detail) in outcomes.Where(o => o.Outcome == Outcome.Failed)) Console.WriteLine($"  failed: {detail}");
            return cancel.IsCancellationRequested ? ExitCodes.Interrupted : failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        }
    }

    public static DeviceChoice ParseDevice(string? value) => value switch { "cpu" => DeviceChoice.Cpu, "cuda" => DeviceChoice.Cuda, _ => DeviceChoice.Auto };

    /// <summary>Runs one restoration under a live Spectre progress bar (step rate, ETA) on a terminal, plainly otherwise.</summary>
    private static T WithProgress<T>(string name, Func<Action<RestoreProgress>, T> work)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive) return work(_ => { });
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new StepRateColumn(), new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(name), maxValue: 1);
                result = work(p =>
                {
                    task.MaxValue = p.Steps * p.Patches;
                    task.Value = (p.Patch - 1) * p.Steps + p.Step;
                    task.Description = Markup.Escape(p.Patches > 1 ? $"{name} [patch {p.Patch}/{p.Patches}]" : name);
                });
                task.StopTask();
            });
        return result;
    }

    private sealed class StepRateColumn : Spectre.Console.ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } s ? string.Create(CultureInfo.InvariantCulture, $"{s:0.00} steps/s") : "– steps/s");
    }
}
