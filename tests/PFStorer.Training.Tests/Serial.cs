using Xunit;

// The classes of this assembly run one at a time: a training run's gradients were seen to change when other engine
// work ran concurrently in the same process (an open defect, docs/identity-files.md "Resuming"), and several tests
// here compare identity files byte for byte. The host runs one job per process and is not affected.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
