using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>OpenCLIP text tower of stablesr-tiny against upstream for the three prompts of cases.json.</summary>
public sealed class TextEncoderParityTests(StableSRTiny tiny) : IClassFixture<StableSRTiny>
{
    private static string[] Prompts()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Fixtures.Path("stablesr-tiny", "cases.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToArray();
    }

    [Fact]
    public void TokenizerReproducesTheCaseTokens()
    {
        using var ids = SimpleTokenizer.Default.TokenizeBatch(Prompts());
        using var expected = tiny.Case("text.tokens");
        Assert.Equal(expected.ToInt64Array(), ids.ToInt64Array());
    }

    [Fact]
    public void EmbeddingsResblockAndContextMatch()
    {
        var text = tiny.Model.CondStageModel;
        using var ids = tiny.Case("text.tokens");
        using var embedded = text.EmbedPlusPositions(ids);
        tiny.AssertMatches(embedded, "text.embed_plus_pos");
        using var block0 = text.Resblocks[0].Forward(embedded);
        tiny.AssertMatches(block0, "text.resblock0_out");
        using var context = text.Forward(ids);
        tiny.AssertMatches(context, "text.context");
        // The "last"-layer variant (not StableSR's) exercises the block that "penultimate" skips.
        using var block1 = text.Resblocks[1].Forward(block0);
        using var lastLayer = text.LnFinal.Forward(block1);
        tiny.AssertMatches(lastLayer, "text.context_last_layer");
    }

    [Fact]
    public void OverrideRowReplacesOnlyThePlaceholderPositions()
    {
        var text = tiny.Model.CondStageModel;
        using var ids = tiny.Case("text.tokens");
        // Overriding an id with its own table row must change nothing: the substitution happens before the positions.
        long id = ids.ToInt64Array()[1];
        using var table = text.TokenEmbedding.Tensor.Contiguous();
        using var row = table.Slice(0, (int)id, 1).Contiguous();
        using var row1d = row.View(-1);
        using var plain = text.Forward(ids);
        using var overridden = text.Forward(ids, (int)id, row1d);
        Assert.Equal(plain.ToFloatArray(), overridden.ToFloatArray());
    }
}
