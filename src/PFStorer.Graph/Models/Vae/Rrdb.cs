using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// ESRGAN's ResidualDenseBlock (basicsr rrdbnet_arch): five 3×3 convs over the growing concatenation
/// [x, x1, …] (growth 32), LeakyReLU 0.2 after the first four, out = x5·0.2 + x.
/// </summary>
public sealed class ResidualDenseBlock : Module
{
    public const float NegativeSlope = 0.2f;
    public const float ResidualScale = 0.2f;

    public IReadOnlyList<Conv2d> Convs { get; }

    public ResidualDenseBlock(int features, int growth = 32)
    {
        Convs = Enumerable.Range(0, 5)
            .Select(i => Child($"conv{i + 1}", Conv2d.Same3x3(features + i * growth, i < 4 ? growth : features))).ToArray();
    }

    public Tensor Forward(Tensor x)
    {
        var dense = new List<Tensor> { x };
        try
        {
            for (int i = 0; i < 4; i++)
            {
                using var cat = F.Concat(dense, 1);
                using var conv = Convs[i].Forward(cat);
                dense.Add(F.LeakyReLU(conv, NegativeSlope));
            }
            using var all = F.Concat(dense, 1);
            using var x5 = Convs[4].Forward(all);
            using var scaled = F.Scale(x5, ResidualScale);
            return F.Add(scaled, x);
        }
        finally
        {
            for (int i = 1; i < dense.Count; i++) dense[i].Dispose();
        }
    }
}

/// <summary>Residual-in-Residual Dense Block: rdb1 → rdb2 → rdb3, out = that·0.2 + x.</summary>
public sealed class Rrdb : Module
{
    public IReadOnlyList<ResidualDenseBlock> Blocks { get; }

    public Rrdb(int features, int growth = 32)
    {
        Blocks = Enumerable.Range(1, 3).Select(i => Child($"rdb{i}", new ResidualDenseBlock(features, growth))).ToArray();
    }

    public Tensor Forward(Tensor x)
    {
        Tensor? h = null;
        foreach (var rdb in Blocks)
        {
            using var prev = h;
            h = rdb.Forward(prev ?? x);
        }
        using (h)
        using (var scaled = F.Scale(h!, ResidualDenseBlock.ResidualScale))
            return F.Add(scaled, x);
    }
}
