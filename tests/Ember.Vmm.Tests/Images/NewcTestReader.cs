using System.Globalization;
using System.Text;

namespace Ember.Vmm.Tests.Images;

/// <summary>
/// An independent, strict newc reader for checking the writer: every field must be 8 hex digits,
/// names NUL-terminated, all padding zero and to 4 bytes, the archive must end with the trailer
/// and nothing after it.
/// </summary>
internal static class NewcTestReader
{
    private const int HeaderLength = 110;

    public static IReadOnlyList<NewcTestEntry> Read(byte[] archive)
    {
        var entries = new List<NewcTestEntry>();
        var position = 0;
        while (true)
        {
            if (position + HeaderLength > archive.Length)
                throw new InvalidDataException($"Header at {position} runs past the end; no trailer.");
            var header = Encoding.ASCII.GetString(archive, position, HeaderLength);
            if (!header.StartsWith("070701", StringComparison.Ordinal))
                throw new InvalidDataException($"Bad magic at {position}: {header[..6]}");
            var fields = new uint[13];
            for (var i = 0; i < fields.Length; i++)
            {
                var text = header.Substring(6 + i * 8, 8);
                if (!text.All(char.IsAsciiHexDigit))
                    throw new InvalidDataException($"Field {i} at {position} is not hex: '{text}'");
                fields[i] = uint.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            var fileSize = (int)fields[6];
            var nameSize = (int)fields[11];
            if (nameSize < 1 || position + HeaderLength + nameSize > archive.Length)
                throw new InvalidDataException($"Bad name size {nameSize} at {position}");
            if (archive[position + HeaderLength + nameSize - 1] != 0)
                throw new InvalidDataException($"Name at {position} is not NUL-terminated");
            var name = Encoding.UTF8.GetString(archive, position + HeaderLength, nameSize - 1);
            if (name.Contains('\0'))
                throw new InvalidDataException($"Name at {position} has an embedded NUL");
            position = SkipPadding(archive, position + HeaderLength + nameSize);
            if (position + fileSize > archive.Length)
                throw new InvalidDataException($"Data of '{name}' runs past the end");
            var data = archive.AsSpan(position, fileSize).ToArray();
            position = SkipPadding(archive, position + fileSize);
            var entry = new NewcTestEntry(name, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5],
                fields[7], fields[8], fields[9], fields[10], fields[12], data);
            if (name == "TRAILER!!!")
            {
                if (position != archive.Length)
                    throw new InvalidDataException($"{archive.Length - position} bytes after the trailer");
                return entries;
            }
            entries.Add(entry);
        }
    }

    private static int SkipPadding(byte[] archive, int position)
    {
        while (position % 4 != 0)
        {
            if (position >= archive.Length || archive[position] != 0)
                throw new InvalidDataException($"Padding at {position} is missing or not zero");
            position++;
        }
        return position;
    }
}
