//! Any frame a client can build survives encode then decode: what the SDK
//! writes, the gateway reads back unchanged, whatever the strings hold.

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use natter_proto::{
    ClientFrame, ClientId, ConversationId, Cursor, Mention, MentionAll, ReceiptKind, UploadId,
    UserId,
};

/// The fields of a client frame, as the fuzzer builds them.
#[derive(Arbitrary, Debug)]
enum Input {
    Hello {
        token: String,
        cursor: Option<u64>,
    },
    Send {
        conv: [u8; 16],
        client_id: String,
        text: String,
        reply_to: Option<u64>,
        thread: Option<u64>,
        also_in_conversation: bool,
        mentions: Vec<([u8; 16], u32, u32)>,
        everyone: Option<bool>,
        attachments: Vec<[u8; 16]>,
    },
    Ping,
    Receipt {
        conv: [u8; 16],
        read: bool,
        seq: u64,
    },
    Typing {
        conv: [u8; 16],
        active: bool,
    },
}

impl Input {
    fn frame(self) -> ClientFrame {
        match self {
            Input::Hello { token, cursor } => ClientFrame::Hello {
                token,
                cursor: cursor.map(Cursor),
            },
            Input::Send {
                conv,
                client_id,
                text,
                reply_to,
                thread,
                also_in_conversation,
                mentions,
                everyone,
                attachments,
            } => ClientFrame::Send {
                conv: ConversationId::from_bytes(conv),
                client_id: ClientId(client_id),
                text,
                reply_to,
                thread,
                also_in_conversation,
                mentions: mentions
                    .into_iter()
                    .map(|(user, start, end)| Mention {
                        user: UserId::from_bytes(user),
                        start,
                        end,
                    })
                    .collect(),
                mention_all: everyone.map(|e| {
                    if e {
                        MentionAll::Everyone
                    } else {
                        MentionAll::Here
                    }
                }),
                attachments: attachments.into_iter().map(UploadId::from_bytes).collect(),
            },
            Input::Ping => ClientFrame::Ping,
            Input::Receipt { conv, read, seq } => ClientFrame::Receipt {
                conv: ConversationId::from_bytes(conv),
                kind: if read {
                    ReceiptKind::Read
                } else {
                    ReceiptKind::Delivered
                },
                seq,
            },
            Input::Typing { conv, active } => ClientFrame::Typing {
                conv: ConversationId::from_bytes(conv),
                active,
            },
        }
    }
}

fuzz_target!(|input: Input| {
    let frame = input.frame();
    let compact = serde_json::to_string(&frame).expect("frames encode");
    assert_eq!(
        ClientFrame::decode(&compact),
        Ok(frame.clone()),
        "{compact}"
    );
    // Whitespace between tokens is still the same frame.
    let pretty = serde_json::to_string_pretty(&frame).expect("frames encode");
    assert_eq!(ClientFrame::decode(&pretty), Ok(frame), "{pretty}");
});
