package io.bridgehost;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bridgehost.typed.WireReader;
import io.bridgehost.typed.WireWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The typed codec's strings (docs/TYPED.md, "Wire format": UTF-8, invalid UTF-8 and unpaired
 * surrogates refused) against the JDK's strict coders as the oracle: the codec checks strings
 * itself and then uses the JDK's fast String/byte[] conversions, which would silently replace
 * what is invalid.
 */
class WireStringTest {
    /** The JDK's strict decoder: the string, or null when the bytes are not UTF-8. */
    private static String strictDecode(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The codec's decoding of {@code b} as a wire string: the string, or null when refused. */
    private static String codecDecode(byte[] b) {
        byte[] wire = new byte[4 + b.length];
        ByteBuffer.wrap(wire).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(b.length).put(b);
        WireReader r = new WireReader(wire);
        try {
            String s = r.string();
            r.end();
            return s;
        } catch (AbiMismatchException e) {
            assertTrue(e.getMessage().contains("string is not valid UTF-8"), e.getMessage());
            return null;
        }
    }

    private static void same(byte[] b) {
        assertEquals(strictDecode(b), codecDecode(b), () -> java.util.HexFormat.of().formatHex(b));
    }

    @Test
    void everyOneAndTwoByteSequenceDecodesAsTheStrictDecoderSays() {
        for (int a = 0; a < 256; a++) {
            same(new byte[] {(byte) a});
            for (int b = 0; b < 256; b++) {
                same(new byte[] {(byte) a, (byte) b});
            }
        }
    }

    @Test
    void threeByteSequencesWithAMultiByteLeadDecodeAsTheStrictDecoderSays() {
        // Leads 0x80..0xff (an ASCII lead only prefixes the shorter cases above), every second
        // byte, and a third byte on each side of every boundary a decoder distinguishes:
        // overlongs, surrogates (ED A0..BF), truncations, bad continuations.
        int[] third = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
        for (int a = 0x80; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                for (int c : third) {
                    same(new byte[] {(byte) a, (byte) b, (byte) c});
                }
            }
        }
    }

    @Test
    void randomFourByteAndLongerSequencesDecodeAsTheStrictDecoderSays() {
        SplittableRandom rnd = new SplittableRandom(16);
        int[] interesting = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0,
            0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[4 + rnd.nextInt(6)];
            for (int k = 0; k < b.length; k++) {
                b[k] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt(256) : interesting[rnd.nextInt(interesting.length)]);
            }
            same(b);
        }
        // Edges: U+10FFFF, U+110000, the last overlong of each length, an astral character.
        same(new byte[] {(byte) 0xf4, (byte) 0x8f, (byte) 0xbf, (byte) 0xbf});
        same(new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80});
        same(new byte[] {(byte) 0xf0, (byte) 0x8f, (byte) 0xbf, (byte) 0xbf});
        same(new byte[] {(byte) 0xf0, (byte) 0x9f, (byte) 0x98, (byte) 0x80});
    }

    @Test
    void theErrorNamesTheFirstBadByteAsTheRustDecoderDoes() {
        // "ab" then an overlong slash: 4 bytes of length, then the bad sequence at byte 6.
        byte[] wire = {5, 0, 0, 0, 'a', 'b', (byte) 0xc0, (byte) 0xaf, 'c'};
        AbiMismatchException e = assertThrows(AbiMismatchException.class, () -> new WireReader(wire).string());
        assertTrue(e.getMessage().contains("at byte 6: string is not valid UTF-8"), e.getMessage());
    }

    /** The JDK's strict encoder: the bytes, or null for an unpaired surrogate. */
    private static byte[] strictEncode(String s) {
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(s));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static byte[] codecEncode(String s) {
        WireWriter w = new WireWriter();
        try {
            w.string(s, "s");
        } catch (InvalidArgumentException e) {
            assertEquals("s: string has an unpaired surrogate (not valid UTF-8)", e.getMessage());
            return null;
        }
        byte[] wire = w.toByteArray();
        byte[] out = new byte[wire.length - 4];
        System.arraycopy(wire, 4, out, 0, out.length);
        assertEquals(out.length, ByteBuffer.wrap(wire).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
        return out;
    }

    @Test
    void stringsEncodeAsTheStrictEncoderSays() {
        char[] pool = {'a', 'Z', '\u00e9', '\u07ff', '\u0800', '\uffff', '\ud800', '\udbff', '\udc00', '\udfff',
            '\ud83d', '\ude00', '\u0000'};
        SplittableRandom rnd = new SplittableRandom(17);
        for (int i = 0; i < 100_000; i++) {
            char[] cs = new char[rnd.nextInt(7)];
            for (int k = 0; k < cs.length; k++) {
                cs[k] = rnd.nextInt(4) == 0 ? (char) rnd.nextInt(0x10000) : pool[rnd.nextInt(pool.length)];
            }
            String s = new String(cs);
            byte[] want = strictEncode(s);
            byte[] got = codecEncode(s);
            if (want == null) {
                assertNull(got, s);
            } else {
                assertArrayEquals(want, got, s);
            }
        }
        // A pair reversed, a high surrogate last, a low one first: all refused.
        for (String s : new String[] {"\udc00\ud800", "a\ud83d", "\ude00b"}) {
            assertNull(codecEncode(s));
        }
        assertArrayEquals("😀".getBytes(StandardCharsets.UTF_8), codecEncode("\ud83d\ude00"));
    }
}
