using System.Runtime.InteropServices;
using AttnEval.Abstractions;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Threads that do not collapse on a shared machine (issue 13), and the declared <c>model.options</c>.</summary>
public sealed class ThreadingTests
{
    [DllImport("libc.so.6", EntryPoint = "getenv")]
    private static extern IntPtr NativeGetEnv(string name);

    [SkippableFact]
    public void Idle_openmp_workers_sleep_unless_the_user_chose_otherwise()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "native environment check is Linux-only");
        var before = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        var backend = new TorchSharpBackend();
        backend.Name.Should().Be("torchsharp");
        // What native code (libgomp) reads is the C environment, not .NET's copy.
        Marshal.PtrToStringUTF8(NativeGetEnv("OMP_WAIT_POLICY")).Should().Be(string.IsNullOrEmpty(before) ? "PASSIVE" : before);
    }

    [Fact]
    public void Threads_is_a_declared_option_with_a_range()
    {
        var spec = new TorchSharpBackend().Options.Should().ContainSingle().Subject;
        spec.Key.Should().Be("threads");
        spec.Type.Should().Be(OptionType.Integer);
        spec.Min.Should().Be(1);
    }

    [Fact]
    public void An_undeclared_option_is_refused_by_the_backend_too()
    {
        var act = () => new TorchSharpBackend().Load(new ModelSource("/nonexistent", "torchsharp", "cpu", "float32") { Options = new Dictionary<string, string> { ["threadz"] = "1" } });
        act.Should().Throw<ModelLoadException>().WithMessage("model.options.threadz: unknown option of backend 'torchsharp' (known: threads).");
    }
}
