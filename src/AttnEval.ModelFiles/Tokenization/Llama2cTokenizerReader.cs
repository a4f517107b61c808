using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using AttnEval.Abstractions;
using Microsoft.ML.Tokenizers;

namespace AttnEval.ModelFiles.Tokenization;

/// <summary>
/// Adapter for the llama2.c <c>tokenizer.bin</c> (data/PROVENANCE.md §1.3): int32 max_token_length, then per entry
/// float32 score, int32 length, raw bytes. The entries are a SentencePiece BPE vocabulary exported with spaces as
/// ' ' and the controls as "\n&lt;s&gt;\n"; they are turned back into a SentencePiece model (ids 0/1/2 = unk/bos/eos,
/// <c>&lt;0xHH&gt;</c> byte-fallback pieces, add_dummy_prefix) and read by Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>. Encoding therefore merges by piece score like run.c; decoding drops the dummy prefix
/// and maps byte pieces to raw bytes.
/// </summary>
public static partial class Llama2cTokenizerReader
{
    [GeneratedRegex("^<0x[0-9A-Fa-f]{2}>$")]
    private static partial Regex BytePiece();

    /// <summary>Reads the file for a model with <paramref name="vocabSize"/> entries.</summary>
    /// <exception cref="ModelLoadException">Missing or truncated file.</exception>
    public static LibraryTokenizer Read(string path, int vocabSize)
    {
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: tokenizer file not found (expected a llama2.c tokenizer.bin beside the checkpoint, or set model.tokenizer).");
        var b = File.ReadAllBytes(path);
        var pieces = new List<SentencePieceModelWriter.Piece>(vocabSize);
        int off = 4;
        for (int i = 0; i < vocabSize; i++)
        {
            if (off + 8 > b.Length) throw new ModelLoadException($"{path}: truncated llama2.c tokenizer: entry {i} of {vocabSize} starts past the end ({b.Length} bytes).");
            float score = BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(off));
            int len = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(off + 4));
            off += 8;
            if (len < 0 || off + len > b.Length) throw new ModelLoadException($"{path}: truncated llama2.c tokenizer: entry {i} declares {len} bytes, {b.Length - off} left.");
            var text = Encoding.UTF8.GetString(b, off, len);
            off += len;
            var type = SentencePieceModelWriter.PieceType.Normal;
            if (i == 0) { type = SentencePieceModelWriter.PieceType.Unknown; text = text.Trim(); }
            else if (i is 1 or 2) { type = SentencePieceModelWriter.PieceType.Control; text = text.Trim(); }
            else if (BytePiece().IsMatch(text)) { type = SentencePieceModelWriter.PieceType.Byte; text = text.ToUpperInvariant().Replace("0X", "0x"); }
            else text = text.Replace(' ', '\u2581');
            pieces.Add(new(text, score, type));
        }
        var proto = SentencePieceModelWriter.WriteBpe(pieces, unkId: 0, bosId: 1, eosId: 2, byteFallback: true, addDummyPrefix: true);
        var spm = SentencePieceTokenizer.Create(new MemoryStream(proto), addBeginningOfSentence: false, addEndOfSentence: false);
        var display = pieces.Select(PieceDisplay).ToArray();
        // run.c stops when BOS is sampled; EOS is a stop id as well.
        return new LibraryTokenizer(spm, vocabSize, bosId: 1, eosId: 2, stopIds: [1, 2], specialIds: [0, 1, 2], id => display[id]);
    }

    /// <summary>Display text of a SentencePiece piece: U+2581 → space, <c>&lt;0xHH&gt;</c> → the byte when ASCII.</summary>
    internal static string PieceDisplay(SentencePieceModelWriter.Piece p) => p.Type switch
    {
        SentencePieceModelWriter.PieceType.Byte => Convert.ToInt32(p.Text[3..5], 16) is var v && v < 0x80 ? ((char)v).ToString() : p.Text,
        SentencePieceModelWriter.PieceType.Control or SentencePieceModelWriter.PieceType.Unknown => p.Text,
        _ => p.Text.Replace('\u2581', ' '),
    };
}
