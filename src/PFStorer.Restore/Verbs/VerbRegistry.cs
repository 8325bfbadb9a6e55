using System.CommandLine;

namespace PFStorer.Restore;

internal static class VerbRegistry
{
    public static IEnumerable<Command> All() =>
    [
        InfoVerb.Create(),
        RestoreVerb.Create(),
        PersonalizeVerb.Create(),
        DegradeVerb.Create(),
        MetricsVerb.Create(),
        FacesVerb.Create(),
        WeightsVerb.Create(),
    ];
}
