using Xunit;

namespace PFStorer.Graph.Tests.Models;

/// <summary>EncoderUNetModelWT (time-aware encoder) of stablesr-tiny against upstream.</summary>
public sealed class StructCondParityTests(StableSRTiny tiny) : IClassFixture<StableSRTiny>
{
    [Fact]
    public void FeaturesByWidthMatch()
    {
        using var x = tiny.Case("structcond.x");
        using var t = tiny.Case("structcond.timesteps");
        using var features = tiny.Model.StructCondStageModel.Forward(x, t);
        Assert.Equal([4, 8, 16], features.ByWidth.Keys.Order());
        foreach (var w in features.ByWidth.Keys) tiny.AssertMatches(features[w], $"structcond.out.{w}");
    }

    [Fact]
    public void LegacyAttentionBlockMatches()
    {
        var block = (Graph.Models.AttentionBlock)tiny.Model.StructCondStageModel.InputBlocks[1].Layers[1];
        const string p = "e.structcond.input_blocks.1.1";
        using var x = tiny.Case($"{p}.in");
        using var flat = x.View(x.Dim(0), x.Dim(1), -1);
        using var norm = block.Norm.Forward(flat);
        tiny.AssertMatches(norm, $"{p}.norm.out");
        using var qkv = block.Qkv.Forward(norm);
        tiny.AssertMatches(qkv, $"{p}.qkv.out");
        using var attention = block.Attention(qkv);
        tiny.AssertMatches(attention, $"{p}.attention.out");
        using var y = block.Forward(x);
        tiny.AssertMatches(y, $"{p}.out");
    }
}
