using System.Text.Json;
using PFStorer.Graph.Checkpoints;
using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// The placeholder rule (`*` is always a token of its own) against the token ids of the personalization fixture, whose
/// prompts are in its cases.json settings; ids must match exactly.
/// </summary>
public sealed class PlaceholderTokenizerTests
{
    private static readonly SimpleTokenizer Tok = SimpleTokenizer.Default;

    private static string Prompt(string setting)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("personalization", "cases.json")));
        return doc.RootElement.GetProperty("settings").GetProperty(setting).GetString()!;
    }

    /// <summary>The one row [1,77] of a token entry of the fixture.</summary>
    private static long[] FixtureIds(string entry)
    {
        using var cases = Checkpoint.Open(Fixtures.Path("personalization", "cases.safetensors"));
        using var ids = cases.Load(entry);
        Assert.Equal([1, SimpleTokenizer.ContextLength], ids.ShapeArray());
        return ids.ToInt64Array();
    }

    [Fact]
    public void PlaceholderIdIsTheBpeIdOfAStarAlone()
    {
        Assert.Equal([Tok.PlaceholderId], Tok.Encode("*"));
        Assert.Equal(265, Tok.PlaceholderId);
    }

    [Theory]
    [InlineData("train_prompt", "in.tokens", 4, 5)]
    [InlineData("pos_prompt", "e.tokens_pos", 4, 17)]
    [InlineData("neg_prompt", "e.tokens_neg", -1, 15)]
    public void PromptsMatchTheFixture(string setting, string entry, int placeholderIndex, int endIndex)
    {
        var tokens = Tok.TokenizeWithPlaceholder(Prompt(setting));
        Assert.Equal(FixtureIds(entry), tokens.Ids);
        Assert.Equal(placeholderIndex, tokens.PlaceholderIndex);
        Assert.Equal(endIndex, tokens.EndIndex);
    }

    [Fact]
    public void TrainingPromptIsTheDocumentedIdSequence()
    {
        var expected = new long[SimpleTokenizer.ContextLength];
        new long[] { 49406, 320, 1125, 539, 265, 49407 }.CopyTo(expected, 0);
        Assert.Equal(expected, Tok.TokenizeWithPlaceholder("a photo of *").Ids);
    }

    /// <summary>Plain BPE glues "*," into one token, so the plain tokenization of the positive prompt has no placeholder.</summary>
    [Fact]
    public void PlainTokenizationKeepsTheLiteralBpe()
    {
        var literal = Tok.Tokenize(Prompt("pos_prompt"));
        Assert.Equal(FixtureIds("e.tokens_pos_literal"), literal);
        Assert.DoesNotContain((long)Tok.PlaceholderId, literal);
    }

    /// <summary>Where BPE does not touch `*`, the rule changes nothing: the training prompt tokenizes the same both ways.</summary>
    [Fact]
    public void SpacedPlaceholderMatchesPlainTokenization() =>
        Assert.Equal(Tok.Tokenize(Prompt("train_prompt")), Tok.TokenizeWithPlaceholder(Prompt("train_prompt")).Ids);

    [Fact]
    public void EveryStarIsOneTokenWhereverItStands()
    {
        var tokens = Tok.TokenizeWithPlaceholder("*a photo of **, *");
        var expected = new List<long> { Tok.StartId, Tok.PlaceholderId };
        expected.AddRange(Tok.Encode("a photo of").Select(i => (long)i));
        expected.AddRange([Tok.PlaceholderId, Tok.PlaceholderId]);
        expected.AddRange(Tok.Encode(",").Select(i => (long)i));
        expected.AddRange([Tok.PlaceholderId, Tok.EndId]);
        Assert.Equal(expected, tokens.Ids.Take(expected.Count));
        Assert.All(tokens.Ids.Skip(expected.Count), id => Assert.Equal(0, id));
        Assert.Equal(1, tokens.PlaceholderIndex);
        Assert.Equal(expected.Count - 1, tokens.EndIndex);
    }

    /// <summary>Truncation as open_clip.tokenize: 77 ids, the last forced to end-of-text; a `*` cut off is reported as absent.</summary>
    [Fact]
    public void LongPromptsAreCutAsOpenClipCutsThem()
    {
        string words = string.Join(' ', Enumerable.Repeat("photo", 80));
        var cut = Tok.TokenizeWithPlaceholder(words + " of *");
        Assert.Equal(Tok.Tokenize(words), cut.Ids);
        Assert.Equal(Tok.EndId, cut.Ids[^1]);
        Assert.Equal(-1, cut.PlaceholderIndex);
        Assert.Equal(SimpleTokenizer.ContextLength - 1, cut.EndIndex);

        var kept = Tok.TokenizeWithPlaceholder("* " + words);
        Assert.Equal(1, kept.PlaceholderIndex);
        Assert.Equal(Tok.EndId, kept.Ids[^1]);
    }

    [Fact]
    public void BatchAppliesTheRuleOnRequest()
    {
        string prompt = Prompt("pos_prompt");
        using var ids = Tok.TokenizeBatch([prompt, Prompt("neg_prompt")], placeholderRule: true);
        var flat = ids.ToInt64Array();
        Assert.Equal(FixtureIds("e.tokens_pos"), flat[..77]);
        Assert.Equal(FixtureIds("e.tokens_neg"), flat[77..]);
    }
}
