"""Learning-curve reference for tests/unit/train/pretrain_test.cpp ("the masked-LM loss falls").

The same recipe in PyTorch + transformers: a k=3 BertForMaskedLM (1 layer, hidden 32, 2 heads,
FFN 64, 66 positions) on a random genome with a 12-mer repeated every 40 nt, pieces with the lengths of
DNABERT's cut_no_overlap (full with probability 0.5, else random >= 5 nt) taken at random places, DNABERT's span masking (p = 0.1, span [c-1, c+1], 80/10/10), AdamW
(lr 2e-3, betas 0.9/0.98, eps 1e-6, wd 0.01, no decay on biases/LayerNorm), 10 warmup steps,
clipping at 1.0, batch 8, 400 steps. It prints the mean loss of the first and last 10 steps; the
C++ test asserts the same kind of fall (> 0.25 nats). Random streams differ between the two, so
the numbers agree in size, not bit for bit. Run: python3 tests/reference/mlm_learning_curve.py
"""
import torch, random, math
from transformers import BertConfig, BertForMaskedLM, get_linear_schedule_with_warmup
torch.manual_seed(0); random.seed(0); torch.set_num_threads(1)
def genome(n, seed):
    r=random.Random(seed); s=[r.choice("ACGT") for _ in range(n)]
    for at in range(0,n-11,40): s[at:at+12]=list("GATTACACATGC")
    return "".join(s)
g=genome(20000,2); k=3
vocab={}
import itertools
for i,t in enumerate(itertools.product("ATCG",repeat=3)): vocab["".join(t)]=i+5
def toks(s): return [2]+[vocab[s[i:i+3]] for i in range(len(s)-2)]+[3]
cfg=BertConfig(vocab_size=69,hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64,max_position_embeddings=66)
m=BertForMaskedLM(cfg); m.train()
nd=[n for n,_ in m.named_parameters() if "bias" in n or "LayerNorm.weight" in n]
opt=torch.optim.AdamW([{"params":[p for n,p in m.named_parameters() if n not in nd],"weight_decay":0.01},{"params":[p for n,p in m.named_parameters() if n in nd],"weight_decay":0.0}],lr=2e-3,betas=(0.9,0.98),eps=1e-6)
T=400; sch=get_linear_schedule_with_warmup(opt,10,T)
def piece():
    L=66
    if random.random()<0.5: st=random.randrange(0,len(g)-L); return g[st:st+L]
    l=max(int(random.random()*L),5); st=random.randrange(0,len(g)-l); return g[st:st+l]
losses=[]
for step in range(T):
    b=[toks(piece()) for _ in range(8)]; ml=max(map(len,b))
    ids=torch.tensor([x+[0]*(ml-len(x)) for x in b]); att=(ids!=0).long()
    labels=torch.full_like(ids,-100); inp=ids.clone()
    for r in range(8):
        n=len(b[r]); masked=set()
        for c in range(1,n-1):
            if random.random()<0.1:
                for t in range(max(1,c-1),min(n-2,c+1)+1): masked.add(t)
        for t in masked:
            labels[r,t]=ids[r,t]
            u=random.random()
            if u<0.8: inp[r,t]=4
            elif u<0.9: inp[r,t]=random.randrange(69)
    out=m(input_ids=inp,attention_mask=att,labels=labels)
    opt.zero_grad(); out.loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step(); sch.step()
    losses.append(out.loss.item())
print("masked-LM loss, first 10 steps %.3f -> last 10 steps %.3f" % (sum(losses[:10])/10, sum(losses[-10:])/10))
