namespace PFStorer.Kernels.Cuda;

/// <summary>
/// The template instantiations each kernels/*.cu provides, as NVRTC name expressions ("unary_fwd&lt;float, 0&gt;").
/// NVRTC instantiates exactly these and reports their mangled names; the backend looks kernels up by the same strings.
/// Storage types: float (the f32 parity mode) and bf16 (bf16 storage, f32 arithmetic).
/// </summary>
public static class KernelCatalog
{
    public static readonly string[] FloatTypes = ["float", "bf16"];
    /// <summary>Dims per lane of the warp-per-row attention kernels: head dims up to 64, 128, 256.</summary>
    public static readonly int[] AttentionLanes = [2, 4, 8];
    /// <summary>Head dims of the tensor-core attention forward.</summary>
    public static readonly int[] MmaHeadDims = [64, 128];

    public static string TypeName(DType t) => t switch
    {
        DType.F32 => "float",
        DType.BF16 => "bf16",
        DType.F16 => "f16",
        DType.I32 => "int",
        DType.I64 => "i64",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static IReadOnlyList<string> NameExpressions(string family) => family switch
    {
        "elementwise" => [
            .. PerType(t => Ops(3, op => $"unary_fwd<{t}, {op}>")), .. PerType(t => Ops(3, op => $"unary_bwd<{t}, {op}>")),
            .. PerType(t => [$"geglu_fwd<{t}>", $"geglu_bwd<{t}>", $"affine<{t}>", $"sft_fwd<{t}>", $"sft_bwd<{t}>",
                $"leaky_relu_fwd<{t}>", $"leaky_relu_bwd<{t}>"]),
            .. PerType(t => Ops(3, op => $"binary_same<{t}, {op}>")), .. PerType(t => Ops(3, op => $"binary_bcast<{t}, {op}>"))],
        "groupnorm" => [
            .. PerType(t => [$"groupnorm_fwd<{t}, false, false>", $"groupnorm_fwd<{t}, true, false>", $"groupnorm_fwd<{t}, false, true>"]),
            .. PerType(t => [$"groupnorm_bwd_input<{t}, false>", $"groupnorm_bwd_input<{t}, true>"]),
            .. PerType(t => [$"groupnorm_bwd_params<{t}, false>", $"groupnorm_bwd_params<{t}, true>"])],
        "layernorm" => PerType(t => [$"layernorm_fwd<{t}>", $"layernorm_bwd_input<{t}>", $"layernorm_bwd_params<{t}>"]),
        "attention" => [
            .. PerType(t => AttentionLanes.SelectMany(n => new[] { $"attn_fwd_rows<{t}, {n}>", $"attn_bwd_dq<{t}, {n}>", $"attn_bwd_dkdv<{t}, {n}>" })),
            .. MmaHeadDims.Select(d => $"attn_fwd_mma<{d}>"),
            .. PerType(t => [$"attn_probs<{t}>", $"attn_bwd_delta<{t}>"])],
        "personalization" => [
            .. PerType(t => [$"personalize_fwd<{t}>", $"personalize_bwd_proj<{t}>", $"personalize_bwd_gamma<{t}>",
                $"map_loss_fwd<{t}>", $"map_loss_bwd<{t}>", $"pers_attn_bwd_delta<{t}>"]),
            .. PerType(t => AttentionLanes.SelectMany(n => new[] { $"pers_attn_fwd<{t}, {n}>", $"pers_attn_bwd_dq<{t}, {n}>", $"pers_attn_bwd_dkdv<{t}, {n}>" }))],
        "conv" => PerType(t => [$"im2col<{t}>", $"col2im<{t}>", $"add_channel_bias<{t}>", $"channel_bias_grad<{t}>"]),
        "window" => PerType(t => [$"depthwise_conv2d<{t}>", $"pool2d<{t}, 0>", $"pool2d<{t}, 1>", $"pad2d<{t}>"]),
        "shape" => [
            .. PerType(t => [$"concat_part<{t}>", $"upsample2x_fwd<{t}>", $"upsample2x_bwd<{t}>", $"sum_to_shape<{t}>"]),
            .. PerType(t => Ops(3, op => $"reduce_fwd<{t}, {op}>")), .. PerType(t => Ops(3, op => $"reduce_bwd<{t}, {op}>"))],
        "embedding" => [
            .. PerType(t => [$"timestep_embedding<float, {t}>", $"timestep_embedding<i64, {t}>",
                $"embedding_fwd<{t}>", $"embedding_bwd_table<{t}>", $"embedding_bwd_override<{t}>"])],
        "adamw" => PerType(t => [$"adamw_step<{t}>"]),
        "ddpm" => PerType(t => [$"guidance<{t}>", $"posterior_step<{t}>", $"accumulate_tile<{t}>"]),
        "random" => ["standard_normal_f32"],
        "cast" => [
            .. CastPairs().SelectMany(p => new[] { $"cast<{p.From}, {p.To}>", $"copy_strided<{p.From}, {p.To}>" }),
            "fill_u64"],
        _ => throw new ArgumentException($"kernel family '{family}' has no catalog entry"),
    };

    /// <summary>Conversions the cast kernels provide: among the float types, between the integer types, and each type to itself.</summary>
    public static IEnumerable<(string From, string To)> CastPairs()
    {
        string[] floats = ["float", "bf16", "f16"];
        foreach (var a in floats)
        foreach (var b in floats)
            yield return (a, b);
        yield return ("int", "int");
        yield return ("i64", "i64");
        yield return ("int", "i64");
        yield return ("i64", "int");
    }

    private static string[] PerType(Func<string, IEnumerable<string>> names) => FloatTypes.SelectMany(names).ToArray();

    private static IEnumerable<string> Ops(int count, Func<int, string> name) => Enumerable.Range(0, count).Select(name);
}
