using PFStorer.Graph;
using PFStorer.Images;
using PFStorer.Training.Personalization;

namespace PFStorer.Training.Tests.Personalization;

/// <summary>The tiny model and the three shipped astronaut photos (examples/astronaut/photos), for training-run tests.</summary>
public sealed class TinyPersonalization : IDisposable
{
    /// <summary>
    /// The run and restore-with-identity tests share one xunit collection so they never run at the same time: a restore
    /// running concurrently in the same process was seen to change a training run's bytes (an open finding, noted in
    /// docs/identity-files.md); the byte-identity guarantee is stated for one engine job per process.
    /// </summary>
    public const string Serial = "personalization runs";

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

    public void Dispose()
    {
        Tiny.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
