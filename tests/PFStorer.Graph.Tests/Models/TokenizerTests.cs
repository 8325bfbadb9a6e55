using System.Text.Json;
using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>The OpenCLIP tokenizer against open_clip.tokenize / SimpleTokenizer.encode on the 20 strings of tokens.json.</summary>
public sealed class TokenizerTests
{
    private static JsonElement Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("tokenizer", "tokens.json")));
        return doc.RootElement.Clone();
    }

    public static TheoryData<int> CaseIndices() => new(Enumerable.Range(0, Cases().GetProperty("cases").GetArrayLength()));

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void TokenizeMatchesOpenClip(int index)
    {
        var c = Cases().GetProperty("cases")[index];
        string text = c.GetProperty("text").GetString()!;
        var expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var expectedBpe = c.GetProperty("bpe_ids_without_special").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        var tok = SimpleTokenizer.Default;
        Assert.Equal(expectedBpe, tok.Encode(text).ToArray());
        Assert.Equal(expected, tok.Tokenize(text));
    }

    [Fact]
    public void SpecialIdsAndVocabularyMatchOpenClip()
    {
        var root = Cases();
        var tok = SimpleTokenizer.Default;
        Assert.Equal(root.GetProperty("sot").GetInt32(), tok.StartId);
        Assert.Equal(root.GetProperty("eot").GetInt32(), tok.EndId);
        Assert.Equal(49408, tok.VocabSize);
    }

    [Fact]
    public void BatchHoldsEveryPromptAsInt64Rows()
    {
        var tok = SimpleTokenizer.Default;
        string[] prompts = ["a Photo of *", ""];
        using var ids = tok.TokenizeBatch(prompts);
        Assert.Equal([2, SimpleTokenizer.ContextLength], ids.ShapeArray());
        var flat = ids.ToInt64Array();
        Assert.Equal(tok.Tokenize(prompts[0]), flat[..77]);
        Assert.Equal(tok.Tokenize(prompts[1]), flat[77..]);
    }
}
