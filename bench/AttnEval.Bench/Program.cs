using AttnEval.TestSupport;

// dotnet run --project bench/AttnEval.Bench -- hf <model> <F32|F16|BF16> <out-dir> [layers]
// dotnet run --project bench/AttnEval.Bench -- llama2c <model> <out.bin>          (version 1)
// dotnet run --project bench/AttnEval.Bench -- llama2c-v0 <model> <out.bin>       (legacy layout of run.c)
// <model>: llama-3.2-1b, qwen2.5-0.5b, mistral-7b-v0.3, gpt2, llama-110m. Prints the bytes of tensor data written.
if (args is ["hf", var name, var dtype, var dir, .. var rest])
{
    long bytes = RandomCheckpoints.Write(dir, RandomCheckpoints.Config(name), dtype, rest.Length > 0 ? int.Parse(rest[0]) : null);
    Console.WriteLine(bytes);
    return 0;
}
if (args is ["llama2c", var model, var path])
{
    Console.WriteLine(RandomCheckpoints.WriteLlama2c(path, RandomCheckpoints.Config(model)));
    return 0;
}
if (args is ["llama2c-v0", var model0, var path0])
{
    // The legacy layout run.c reads; BOS/EOS rows silenced so greedy decoding never stops early.
    Console.WriteLine(RandomCheckpoints.WriteLlama2c(path0, RandomCheckpoints.Config(model0), version: 0, silenceBosEos: true));
    return 0;
}
Console.Error.WriteLine("usage: hf <model> <F32|F16|BF16> <out-dir> [layers] | llama2c <model> <out.bin> | llama2c-v0 <model> <out.bin>");
return 2;
