using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("AttnEval.Backends.TorchSharp.Tests")]
