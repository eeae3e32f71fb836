using Microsoft.ML.OnnxRuntime;

namespace OnnxRev.Runtime;

/// <summary>Turns ONNX Runtime failures into one-sentence <see cref="OnnxRevException"/>s.</summary>
internal static class OrtErrors
{
    /// <summary>The first non-empty line of ORT's message, without the trailing period.</summary>
    public static string FirstLine(Exception e)
    {
        string line = e.Message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? e.GetType().Name;
        return line.TrimEnd('.');
    }

    public static OnnxRevException LoadFailed(string modelName, OnnxRuntimeException e) =>
        new($"ONNX Runtime could not load model '{modelName}': {FirstLine(e)}.", e);

    public static OnnxRevException RunFailed(string modelName, OnnxRuntimeException e) =>
        new($"ONNX Runtime failed to run model '{modelName}': {FirstLine(e)}.", e);
}
