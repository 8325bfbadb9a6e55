using PFStorer.Graph;
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

    public void Dispose()
    {
        Tiny.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
