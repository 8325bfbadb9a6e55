using PFStorer.Graph.Modules;

namespace PFStorer.Graph.Models;

/// <summary>
/// OpenCLIP's ResidualAttentionBlock: x += attn(ln_1(x)) with the causal text mask; x += c_proj(GELU(c_fc(ln_2(x))))
/// (exact erf GELU for ViT-H-14, mlp ratio 4). LayerNorm eps 1e-5.
/// </summary>
public sealed class ResidualAttentionBlock : Module
{
    public LayerNorm Ln1 { get; }
    public MultiheadAttention Attn { get; }
    public LayerNorm Ln2 { get; }
    public Linear CFc { get; }
    public Linear CProj { get; }

    public ResidualAttentionBlock(int width, int heads, int mlpRatio = 4)
    {
        Ln1 = Child("ln_1", new LayerNorm(width));
        Attn = Child("attn", new MultiheadAttention(width, heads));
        Ln2 = Child("ln_2", new LayerNorm(width));
        CFc = Child("mlp.c_fc", new Linear(width, mlpRatio * width));
        CProj = Child("mlp.c_proj", new Linear(mlpRatio * width, width));
    }

    public Tensor Forward(Tensor x)
    {
        using var n1 = Ln1.Forward(x);
        using var a = Attn.Forward(n1, causal: true);
        using var h = F.Add(x, a);
        using var n2 = Ln2.Forward(h);
        using var fc = CFc.Forward(n2);
        using var g = F.Gelu(fc);
        using var proj = CProj.Forward(g);
        return F.Add(h, proj);
    }
}
