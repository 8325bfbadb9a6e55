using System.CommandLine;
using PFStorer.Restore;

// The console host: one verb per file under Verbs/, registered here.
var root = new RootCommand("PFStorer.Native — personalized face restoration (StableSR + PFStorer) in C# with CUDA kernels.");
foreach (var verb in VerbRegistry.All()) root.Subcommands.Add(verb);
// Ctrl-C cancels the verb's token; verbs stop at their next checkpoint (a sampling step, a training iteration) and clean
// up (restore removes temp files, personalize saves its state), which can take one step: allow it the time.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(30) });
