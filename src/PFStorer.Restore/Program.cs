using System.CommandLine;
using PFStorer.Restore;

// The console host: one verb per file under Verbs/, registered here.
var root = new RootCommand("PFStorer.Native — personalized face restoration (StableSR + PFStorer) in C# with CUDA kernels.");
foreach (var verb in VerbRegistry.All()) root.Subcommands.Add(verb);
return await root.Parse(args).InvokeAsync();
