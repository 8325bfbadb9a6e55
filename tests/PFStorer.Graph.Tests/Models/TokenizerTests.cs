using System.Text.Json;
using PFStorer.Graph.Models;
using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>
/// The OpenCLIP tokenizer against open_clip.tokenize / SimpleTokenizer.encode on the 20 strings of tokens.json, and
/// the Unicode normalisation of its cleaning (decomposed and precomposed spellings give the same ids).
/// </summary>
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

    /// <summary>
    /// Every fixture text that has a decomposed spelling, decomposed (NFD): open_clip, through ftfy's NFC, gives it the
    /// ids of the precomposed text that the fixture stores.
    /// </summary>
    [Fact]
    public void DecomposedFixtureTextsGiveTheFixtureIds()
    {
        var tok = SimpleTokenizer.Default;
        int checkedCases = 0;
        foreach (var c in Cases().GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            string decomposed = UnicodeConformance.Decompose(text);
            if (decomposed == text) continue;
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(), tok.Tokenize(decomposed));
            checkedCases++;
        }
        // Accented Latin, CJK with Hangul, and Greek/Cyrillic/Arabic/Hebrew.
        Assert.Equal(3, checkedCases);
    }

    /// <summary>
    /// Pairs spelled with combining marks or conjoining jamo (written as escapes, so that no editor can normalise them)
    /// and with precomposed characters; each pair must give one set of ids.
    /// </summary>
    public static TheoryData<string, string, string> SpellingPairs() => new()
    {
        { "Latin é", "cafe\u0301 ré", "caf\u00e9 r\u00e9" },
        // ệ carries two marks; NFC also reorders them canonically (dot below before circumflex).
        { "Vietnamese", "Vie\u0302\u0323t Nam, tie\u0302\u0301ng Vie\u0323\u0302t", "Vi\u1ec7t Nam, ti\u1ebfng Vi\u1ec7t" },
        // Greek oxia (U+1F71) is canonically the tonos form U+03AC.
        { "Greek tonos", "\u03b1\u0301\u03b8\u03b7\u03bd\u03b1 \u1f71", "\u03ac\u03b8\u03b7\u03bd\u03b1 \u03ac" },
        { "Hangul jamo", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165", "\ud55c\uad6d\uc5b4" },
        { "Cyrillic й", "\u0438\u0306\u043e\u0434", "\u0439\u043e\u0434" },
        // A composition exclusion: NFC keeps क़ decomposed, so the precomposed U+0958 is the one that changes.
        { "Devanagari nukta", "\u0915\u093c\u093e\u0932", "\u0958\u093e\u0932" },
        { "Latin via entity", "e&#769;te\u0301", "\u00e9t\u00e9" },
    };

    [Theory]
    [MemberData(nameof(SpellingPairs))]
    public void DecomposedAndPrecomposedSpellingsGiveTheSameIds(string script, string oneSpelling, string otherSpelling)
    {
        Assert.NotEqual(oneSpelling, otherSpelling);
        var tok = SimpleTokenizer.Default;
        var ids = tok.Encode(oneSpelling);
        Assert.True(ids.Count > 0, script);
        Assert.Equal(tok.Encode(otherSpelling), ids);
    }
}
