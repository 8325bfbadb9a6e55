using System.Text.RegularExpressions;
using PFStorer.Graph.Backends;
using PFStorer.Kernels.Cuda;
using Xunit;

namespace PFStorer.Kernels.Tests;

/// <summary>
/// The launchers' kernel name lists against the text of kernels/*.cu, without NVRTC or a GPU: every file has a list
/// and every list a file, every listed instantiation names a __global__ kernel of its file with as many template
/// arguments as the kernel has parameters, and every kernel of a file is listed (no kernel nothing launches).
/// </summary>
public sealed partial class KernelFamilyTests
{
    [GeneratedRegex("""(?:template\s*<(?<params>[^>]*)>\s*)?(?:extern\s+"C"\s+)?__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?(?<name>\w+)\s*\(""")]
    private static partial Regex KernelDefinition();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    /// <summary>Kernel name → number of template parameters (0 for a plain kernel), from the file's text.</summary>
    private static Dictionary<string, int> Kernels(string family)
    {
        var text = LineComment().Replace(KernelSources.Source(family), "");
        return KernelDefinition().Matches(text).ToDictionary(m => m.Groups["name"].Value,
            m => m.Groups["params"].Success ? TopLevelArguments(m.Groups["params"].Value).Count : 0);
    }

    /// <summary>"groupnorm_fwd&lt;float, true&gt;" → ("groupnorm_fwd", ["float", "true"]).</summary>
    private static (string Name, IReadOnlyList<string> Arguments) Parse(string expression)
    {
        int open = expression.IndexOf('<');
        if (open < 0) return (expression, []);
        Assert.EndsWith(">", expression);
        return (expression[..open], TopLevelArguments(expression[(open + 1)..^1]));
    }

    private static List<string> TopLevelArguments(string list)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] == '<') depth++;
            else if (list[i] == '>') depth--;
            else if (list[i] == ',' && depth == 0) { parts.Add(list[start..i].Trim()); start = i + 1; }
        }
        if (list.Trim().Length > 0) parts.Add(list[start..].Trim());
        return parts;
    }

    [Fact]
    public void Every_kernel_file_has_one_name_list_and_every_list_a_file()
    {
        var listed = CudaBackend.KernelFamilies.Select(f => f.Name).ToList();
        Assert.Equal(listed.Count, listed.Distinct().Count());
        Assert.Equal(KernelSources.Families.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> Families() => new(CudaBackend.KernelFamilies.Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Families))]
    public void Listed_instantiations_match_the_kernels_of_the_file(string family)
    {
        var list = CudaBackend.KernelFamilies.Single(f => f.Name == family).NameExpressions;
        var kernels = Kernels(family);
        Assert.NotEmpty(kernels);
        Assert.Equal(list.Count, list.Distinct().Count());
        foreach (var expression in list)
        {
            var (name, arguments) = Parse(expression);
            Assert.True(kernels.TryGetValue(name, out int parameters), $"{family}.cu defines no __global__ {name} (listed as {expression})");
            Assert.True(parameters == arguments.Count, $"{expression}: {name} takes {parameters} template arguments in {family}.cu");
        }
        var unlisted = kernels.Keys.Except(list.Select(e => Parse(e).Name)).ToList();
        Assert.True(unlisted.Count == 0, $"{family}.cu defines kernels no launcher lists: {string.Join(", ", unlisted)}");
    }
}
