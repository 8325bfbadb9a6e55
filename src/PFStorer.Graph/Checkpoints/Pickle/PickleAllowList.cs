namespace PFStorer.Graph.Checkpoints.Pickle;

/// <summary>What an allow-listed global may be used for.</summary>
public enum GlobalKind
{
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildFromTypeV2,
    /// <summary>A typed storage class (torch.FloatStorage, ...): only meaningful inside a persistent id.</summary>
    StorageClass,
    /// <summary>torch.Tensor / torch.nn.Parameter: only meaningful as the type argument of _rebuild_from_type_v2.</summary>
    TensorClass,
    /// <summary>_codecs.encode: how protocol-2 pickles spell a bytes literal (str, "latin1").</summary>
    CodecsEncode,
    Set,
    /// <summary>Harmless data classes found beside state dicts; calling or building one makes an inert <see cref="PickleObject"/>.</summary>
    Inert,
}

/// <summary>
/// The only globals a checkpoint pickle may name. Everything else (builtins.eval, os.system, subprocess.Popen,
/// functools.partial, ...) is rejected the moment the GLOBAL opcode names it.
/// </summary>
public static class PickleAllowList
{
    private static readonly Dictionary<(string, string), GlobalKind> Exact = new()
    {
        [("collections", "OrderedDict")] = GlobalKind.OrderedDict,
        [("torch._utils", "_rebuild_tensor_v2")] = GlobalKind.RebuildTensorV2,
        [("torch._utils", "_rebuild_tensor")] = GlobalKind.RebuildTensor,
        [("torch._utils", "_rebuild_parameter")] = GlobalKind.RebuildParameter,
        [("torch._utils", "_rebuild_parameter_with_state")] = GlobalKind.RebuildParameter,
        [("torch._tensor", "_rebuild_from_type_v2")] = GlobalKind.RebuildFromTypeV2,
        [("torch", "Tensor")] = GlobalKind.TensorClass,
        [("torch.nn.parameter", "Parameter")] = GlobalKind.TensorClass,
        [("_codecs", "encode")] = GlobalKind.CodecsEncode,
        [("builtins", "set")] = GlobalKind.Set,
        [("builtins", "frozenset")] = GlobalKind.Set,
        [("numpy", "dtype")] = GlobalKind.Inert,
        [("numpy", "ndarray")] = GlobalKind.Inert,
        [("numpy.core.multiarray", "scalar")] = GlobalKind.Inert,
        [("numpy.core.multiarray", "_reconstruct")] = GlobalKind.Inert,
        [("numpy._core.multiarray", "scalar")] = GlobalKind.Inert,
        [("numpy._core.multiarray", "_reconstruct")] = GlobalKind.Inert,
        [("pathlib", "Path")] = GlobalKind.Inert,
        [("pathlib", "PosixPath")] = GlobalKind.Inert,
        [("pathlib", "WindowsPath")] = GlobalKind.Inert,
        [("pathlib", "PurePosixPath")] = GlobalKind.Inert,
        [("pathlib", "PureWindowsPath")] = GlobalKind.Inert,
        [("argparse", "Namespace")] = GlobalKind.Inert,
        [("torch.torch_version", "TorchVersion")] = GlobalKind.Inert,
    };

    /// <summary>Packages whose classes appear beside Lightning state dicts (hparams as OmegaConf) and become inert placeholders.</summary>
    private static readonly string[] InertPackages = ["omegaconf"];

    /// <summary>Lightning's top-level packages (1.x, 2.x and Fabric).</summary>
    private static readonly string[] LightningPackages = ["pytorch_lightning", "lightning.pytorch", "lightning", "lightning_fabric"];

    /// <summary>
    /// The Lightning classes a checkpoint names: the built-in callbacks (the `callbacks` dict is keyed by callback
    /// class) and AttributeDict (hparams). Any other Lightning global is refused, not made a placeholder.
    /// </summary>
    private static readonly HashSet<string> LightningCallbacks = new(StringComparer.Ordinal)
    {
        "Callback", "ModelCheckpoint", "EarlyStopping", "LearningRateMonitor", "ModelSummary", "RichModelSummary",
        "ProgressBar", "ProgressBarBase", "TQDMProgressBar", "RichProgressBar", "GPUStatsMonitor", "DeviceStatsMonitor",
        "XLAStatsMonitor", "StochasticWeightAveraging", "GradientAccumulationScheduler", "Timer", "BackboneFinetuning",
        "BaseFinetuning", "ModelPruning", "QuantizationAwareTraining", "LearningRateFinder", "BatchSizeFinder",
        "OnExceptionCheckpoint", "ThroughputMonitor", "SpikeDetection", "LambdaCallback", "WeightAveraging", "EMAWeightAveraging",
    };

    public static GlobalKind? Classify(string module, string name)
    {
        if (Exact.TryGetValue((module, name), out var kind)) return kind;
        if (module == "torch" && CheckpointDTypeInfo.TryParseTorchStorage(name, out _)) return GlobalKind.StorageClass;
        foreach (var p in InertPackages)
            if (module == p || module.StartsWith(p + ".", StringComparison.Ordinal)) return GlobalKind.Inert;
        foreach (var p in LightningPackages)
        {
            if (module == p + ".utilities.parsing" && name == "AttributeDict") return GlobalKind.Inert;
            if ((module == p + ".callbacks" || module.StartsWith(p + ".callbacks.", StringComparison.Ordinal)) && LightningCallbacks.Contains(name))
                return GlobalKind.Inert;
        }
        return null;
    }
}
