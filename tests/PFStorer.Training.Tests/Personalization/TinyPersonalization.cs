using PFStorer.Graph;
using PFStorer.Graph.Modules;
using PFStorer.Graph.Pipeline;
using PFStorer.Images;
using PFStorer.Training.Personalization;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>The tiny model and the three shipped astronaut photos (examples/astronaut/photos), for training-run tests.</summary>
public sealed class TinyPersonalization : IDisposable
{

    public StableSRTiny Tiny { get; } = new();

    public IReadOnlyList<(string Name, Image Image)> Photos { get; } =
        Enumerable.Range(1, 3).Select(i => ($"{i}.png", ImageFile.Read(Fixtures.Example("astronaut", "photos", $"{i}.png")))).ToArray();

    public string Dir { get; } = Directory.CreateTempSubdirectory("pfstorer-personalize-").FullName;

    /// <summary>A few-iteration recipe on every decoder transformer of the tiny UNet.</summary>
    public PersonalizeSettings Settings(int iterations, ulong seed = 7) => new()
    {
        Iterations = iterations, Seed = seed, Placements = Graph.Models.Placements.AllDecoder,
    };

    public PersonalizationRun Run(PersonalizeSettings settings) => new(Tiny.Model, Photos, settings, Device.Cpu);

    public string Temp(string name) => Path.Combine(Dir, name);

    /// <summary>A restorer of the tiny model on the CPU, as the host loads it (the fixture's model is for training).</summary>
    public static Restorer LoadRestorer() =>
        Restorer.Load(Fixtures.Path("stablesr-tiny", "model.safetensors"), Fixtures.Path("stablesr-tiny", "vae_cfw.safetensors"), DeviceChoice.Cpu);

    /// <summary>Replaces a parameter with values ~ U(−0.5, 0.5) from <paramref name="seed"/>: an adapter whose blocks act.</summary>
    public static void Randomise(Parameter p, int seed)
    {
        var rng = new Random(seed);
        var v = new float[p.Numel];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() - 0.5);
        p.Assign(Tensor.FromArray(v, p.ShapeArray()));
    }

    public void Dispose()
    {
        Tiny.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
