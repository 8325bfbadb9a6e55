namespace PFStorer.Graph.Modules;

/// <summary>
/// Base of every network block. Children and parameters are registered under their upstream names
/// (e.g. "in_layers.2", "transformer_blocks.0"), so a module's parameter paths equal the checkpoint keys below
/// the component's prefix.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Parameter Param)> _parameters = [];
    private readonly List<(string Name, Module Child)> _children = [];

    protected Parameter Param(string name, params int[] shape) => Register(name, shape, trainable: false);

    protected Parameter TrainableParam(string name, params int[] shape) => Register(name, shape, trainable: true);

    private Parameter Register(string name, int[] shape, bool trainable)
    {
        var p = new Parameter(name, shape, trainable);
        _parameters.Add((name, p));
        return p;
    }

    protected T Child<T>(string name, T child) where T : Module
    {
        _children.Add((name, child));
        return child;
    }

    /// <summary>Removes a child added with <see cref="Child"/> (an adapter detached from its host); the child is not disposed.</summary>
    protected void RemoveChild(Module child)
    {
        int i = _children.FindIndex(c => ReferenceEquals(c.Child, child));
        if (i < 0) throw new InvalidOperationException($"{child.GetType().Name} is not a child of {GetType().Name}");
        _children.RemoveAt(i);
    }

    /// <summary>Makes every parameter below this module trainable: only adapters call it, the base model stays frozen.</summary>
    protected void MakeTrainable()
    {
        foreach (var (_, p) in NamedParameters()) p.MakeTrainable();
    }

    /// <summary>Every parameter below this module with its dotted path, in registration order.</summary>
    public IEnumerable<(string Path, Parameter Param)> NamedParameters(string prefix = "")
    {
        foreach (var (name, p) in _parameters) yield return (prefix + name, p);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedParameters(prefix + name + "."))
                yield return item;
    }

    public IEnumerable<Parameter> TrainableParameters() => NamedParameters().Select(p => p.Param).Where(p => p.Trainable);

    public long ParameterCount() => NamedParameters().Sum(p => p.Param.Numel);

    /// <summary>Moves every loaded parameter to <paramref name="device"/>; host copies are released as each one moves, and parameters already there stay.</summary>
    public void MoveTo(Device device)
    {
        foreach (var (_, p) in NamedParameters())
            if (p.Value is { } v && v.Device != device) p.Assign(v.To(device));
    }

    public virtual void Dispose()
    {
        foreach (var (_, p) in _parameters) p.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}
