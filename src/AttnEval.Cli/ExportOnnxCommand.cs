using System.CommandLine;
using AttnEval.Abstractions;
using AttnEval.Onnx.Export;

namespace AttnEval.Cli;

/// <summary>
/// <c>attneval export-onnx &lt;model&gt; &lt;out-dir&gt; [--dtype float32|float16] [--layers all|none|0,2,4-7] [--tokenizer path]</c>:
/// writes an ONNX decoder graph that keeps attention probabilities (<c>blocks.{l}.attn.hook_pattern</c>) as outputs and takes
/// head interventions as inputs, for the <c>onnx</c> backend. The exporter is a library the host references
/// (<see cref="OnnxExporter"/>: weights in, protobuf out, no tensor library and no plugin), so this command needs no plugin.
/// </summary>
internal static class ExportOnnxCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model") { Description = "Hugging Face folder (llama, mistral, qwen2, gpt2; safetensors) or llama2.c checkpoint (.bin)" };
        var output = new Argument<string>("out-dir") { Description = "Folder to write model.onnx, config.json and the tokenizer files into" };
        var dtype = new Option<string>("--dtype") { Description = "float32, or float16 (weights stored as float16, computed in float32)", DefaultValueFactory = _ => "float32" };
        dtype.AcceptOnlyFromAmong("float32", "float16");
        var layers = new Option<string>("--layers") { Description = "Layers whose attention pattern becomes an output: all, none, or e.g. 0,2,4-7", DefaultValueFactory = _ => "all" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder when it is not beside the weights (llama2.c tokenizer.bin)" };
        var cmd = new Command("export-onnx", "Export a model to ONNX with attention probabilities as outputs and head-intervention inputs (for --backend onnx)")
            { model, output, dtype, layers, tokenizer };
        cmd.SetAction(r => Run(r.GetValue(model)!, r.GetValue(output)!, r.GetValue(dtype)!, r.GetValue(layers)!, r.GetValue(tokenizer)));
        return cmd;
    }

    private static int Run(string model, string output, string dtype, string layers, string? tokenizer)
    {
        try
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var r = OnnxExporter.Export(model, output, new OnnxExportOptions(dtype, OnnxExporter.ParseLayers(layers), tokenizer));
            Console.WriteLine($"wrote {r.Graph} ({r.Bytes / 1024.0 / 1024.0:0.0} MiB, {r.Architecture}, {r.Layers} layers, {dtype}) in {watch.Elapsed.TotalSeconds:0.0} s");
            Console.WriteLine($"  attention outputs: {(r.PatternLayers.Count == 0 ? "none" : string.Join(", ", r.PatternLayers.Select(ActivationNames.Pattern)))}");
            Console.WriteLine($"  intervention inputs: q_scale, z_scale, uniform_flag [L, H]; z_bias [L, H, d_head]");
            Console.WriteLine($"  copied: {string.Join(", ", r.CopiedFiles)}");
            Console.WriteLine($"run it with: model: {{ path: {Path.GetFullPath(output)}, backend: onnx }}");
            foreach (var w in r.Warnings) Console.Error.WriteLine($"attneval: warning: {w}");
            return Cli.Ok;
        }
        catch (Exception e) when (e is ModelLoadException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"attneval: {e.Message}");
            return Cli.BadInput;
        }
    }
}
