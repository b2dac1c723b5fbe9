import numpy as np, matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
from dlcourse.data.timelapse import simulate_movie, CATEGORIES
fig,axes=plt.subplots(3,8,figsize=(20,8))
for row,mod in enumerate(("phase_contrast","brightfield","xenopus")):
    m=simulate_movie(mod, 30, size=128, seed=3, division_rate=0.02, apoptosis_rate=0.008, detachment_rate=0.008)
    ev=[e for e in m.events if e.kind=="division" and e.anaphase+5<30 and e.start>=1][0]
    ts=[ev.start-1,ev.start,ev.metaphase,ev.anaphase-1,ev.anaphase,ev.anaphase+1,ev.anaphase+2,ev.anaphase+5]
    lo,hi=np.percentile(m.images.numpy(),[0.5,99.5])
    for ax,t in zip(axes[row],ts):
        ax.imshow(m.images[t,0],cmap='gray',vmin=lo,vmax=hi)
        ax.contour(m.masks[t,0],[0.5],colors='r',linewidths=0.6)
        for o in m.objects[t]:
            if o.category in (5,6,7,8): ax.text(o.col,o.row,CATEGORIES[o.category][:3],color='c',fontsize=6)
        ax.plot(ev.col,ev.row,'y.',ms=2)
        ax.set_title(f"{mod} t={t} ({(t-ev.anaphase)*5:+d} min)",fontsize=8); ax.axis('off')
plt.tight_layout(); plt.savefig('/tmp/h24/montage2.png',dpi=55)
